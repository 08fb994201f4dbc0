"""CloudSwarm: teams of Claude agents on serverless Google Cloud."""
