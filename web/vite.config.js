import tailwindcss from '@tailwindcss/vite';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// `vite` (dev) proxies /api and serves /config.json from the same places as
// emulators/web_server.py does for the built app: point it at a stack with CLOUDSWARM_API_URL.
export default defineConfig({
  plugins: [react(), tailwindcss()],
  build: {
    target: 'es2022',
    rollupOptions: {
      output: {
        // Firebase changes less often than the app: its own chunk stays cached across releases.
        manualChunks(id) {
          // firebase/auth stays out: only a deployment loads it, on demand.
          if (/node_modules\/(@firebase\/|firebase\/)(?!auth)/.test(id)) return 'firebase';
          if (/node_modules\/(react|react-dom|scheduler)\//.test(id)) return 'react';
          return undefined;
        },
      },
    },
  },
  server: {
    host: '127.0.0.1',
    proxy: process.env.CLOUDSWARM_WEB_URL
      ? { '/api': process.env.CLOUDSWARM_WEB_URL, '/config.json': process.env.CLOUDSWARM_WEB_URL }
      : undefined,
  },
  test: {
    include: ['src/**/*.test.js'],
    environment: 'node',
  },
});
