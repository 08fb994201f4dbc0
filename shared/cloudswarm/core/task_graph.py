"""The task dependency graph: pure functions over plain data.

A graph is a mapping from task id to the ids it is ``blocked_by``. An arrow ``a -> b`` reads
"a waits on b", so a cycle path like ``t1 -> t2 -> t1`` names the tasks that wait on each other.

A dependency is *settled* once it is done or cancelled. Cancelled counts as settled on purpose:
if it did not, every task behind a cancelled one would stay blocked forever with nobody able to
unblock it (a cancelled task never changes again). The agent that depends on it is told when it
becomes ready and can read the cancelled dependency's state itself.

The store keeps two derived fields per task so a completion touches only its neighbours, never
the whole board: ``waiting_on`` (the unsettled subset of ``blocked_by``) and ``blocks`` (the
reverse edges). ``waiting_on`` and ``settle`` below compute them.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import NamedTuple

from cloudswarm.core.models import TaskStatus
from cloudswarm.errors import Conflict, InvalidTransition, NotFound, UserError

Graph = Mapping[str, Collection[str]]

SETTLED = frozenset({TaskStatus.DONE, TaskStatus.CANCELLED})
# Statuses a task may be in while waiting for, or about to get, its turn; only these move
# between blocked and ready. Claimed and finished tasks keep their status when deps change.
OPEN = frozenset({TaskStatus.BLOCKED, TaskStatus.READY})


class DependencyCycle(UserError):
    """The requested dependencies would make tasks wait on each other forever."""

    code = "dependency_cycle"

    def __init__(self, path: Iterable[str]):
        self.path = tuple(path)
        super().__init__(
            f"blocked_by would create a dependency cycle: {' -> '.join(self.path)} "
            "(each task would wait on the next forever); remove one of these dependencies"
        )


def validate_blocked_by(
    task_id: str, blocked_by: Iterable[str], known: Collection[str]
) -> tuple[str, ...]:
    """Return ``blocked_by`` without duplicates (first occurrence kept), or raise UserError.

    ``known`` holds the ids of the swarm's existing tasks (any container with ``in``).
    """
    deps = tuple(dict.fromkeys(blocked_by))
    if task_id in deps:
        raise UserError(
            f"task {task_id} cannot be blocked by itself: remove {task_id} from blocked_by",
            code="self_dependency",
        )
    unknown = [d for d in deps if d not in known]
    if unknown:
        raise NotFound(
            f"blocked_by names unknown task ids: {', '.join(unknown)}; "
            "create those tasks first or use list_tasks to see the existing ids"
        )
    return deps


def find_cycle(graph: Graph) -> tuple[str, ...] | None:
    """Return one cycle as a path whose first and last ids are equal, or None if acyclic.

    Iterative depth-first search: a recursive one would hit Python's recursion limit on a
    long chain of tasks. Edges to ids missing from ``graph`` are treated as leaves.
    """
    done: set[str] = set()
    for root in graph:
        if root in done:
            continue
        # ``path`` is the current DFS stack of ids; ``on_path`` mirrors it for O(1) lookups.
        path: list[str] = [root]
        on_path = {root}
        stack = [iter(graph.get(root, ()))]
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                stack.pop()
                finished = path.pop()
                on_path.discard(finished)
                done.add(finished)
            elif nxt in on_path:
                return (*path[path.index(nxt) :], nxt)
            elif nxt not in done:
                path.append(nxt)
                on_path.add(nxt)
                stack.append(iter(graph.get(nxt, ())))
    return None


def check_new_dependencies(graph: Graph, task_id: str, blocked_by: Iterable[str]) -> None:
    """Raise DependencyCycle if giving ``task_id`` these dependencies closes a cycle.

    The rest of the graph is assumed acyclic (it always is, since every change passes here),
    so any new cycle runs through ``task_id``: look for a path from a new dependency back to
    it. Breadth-first, so the reported cycle is a shortest one, which is the clearest to read.
    A brand-new task can never close a cycle because nothing waits on it yet.
    """
    parent: dict[str, str] = {}
    queue: deque[str] = deque()
    for dep in dict.fromkeys(blocked_by):
        if dep == task_id:
            raise DependencyCycle((task_id, task_id))
        if dep not in parent:
            parent[dep] = task_id
            queue.append(dep)
    while queue:
        node = queue.popleft()
        for nxt in graph.get(node, ()):
            if nxt == task_id:
                back = [node]
                while back[-1] != task_id:
                    back.append(parent[back[-1]])
                raise DependencyCycle((*reversed(back), task_id))
            if nxt not in parent:
                parent[nxt] = node
                queue.append(nxt)


def is_settled(status: TaskStatus | None) -> bool:
    """Whether a dependency in this status no longer holds anything up.

    ``None`` (a dependency whose record is missing) is not settled: validation rejects unknown
    ids, so a missing record is corrupt data, and starting work early is worse than a task
    that visibly stays blocked.
    """
    return status in SETTLED


def waiting_on(blocked_by: Iterable[str], statuses: Mapping[str, TaskStatus]) -> frozenset[str]:
    """The dependencies that are not settled yet."""
    return frozenset(d for d in blocked_by if not is_settled(statuses.get(d)))


def initial_status(blocked_by: Iterable[str], statuses: Mapping[str, TaskStatus]) -> TaskStatus:
    """A new task is blocked while any dependency is unsettled, else ready."""
    return TaskStatus.BLOCKED if waiting_on(blocked_by, statuses) else TaskStatus.READY


def ready_tasks(graph: Graph, statuses: Mapping[str, TaskStatus]) -> frozenset[str]:
    """The open (unclaimed, unfinished) tasks whose every dependency is settled."""
    return frozenset(
        t for t, deps in graph.items() if statuses.get(t) in OPEN and not waiting_on(deps, statuses)
    )


def status_with_dependencies(
    task_id: str, current: TaskStatus, waiting: Collection[str]
) -> TaskStatus:
    """A task's status after its dependencies changed to ones with ``waiting`` unsettled.

    Open tasks move between blocked and ready. A claimed task may not gain an unsettled
    dependency: its owner is already working, and silently pulling the task back would lose that.
    Finished tasks never change.
    """
    if current in OPEN:
        return TaskStatus.BLOCKED if waiting else TaskStatus.READY
    if current == TaskStatus.IN_PROGRESS and waiting:
        raise Conflict(
            f"task {task_id} is in progress and cannot wait on unfinished tasks "
            f"({', '.join(sorted(waiting))}); release it first or keep its current dependencies"
        )
    if current in SETTLED:
        raise InvalidTransition(f"task {task_id} is {current.value}: its dependencies are final")
    return current


def reverse(graph: Graph) -> dict[str, frozenset[str]]:
    """For each task, the tasks blocked by it (the ``blocks`` field); leaves map to nothing."""
    blocks: dict[str, set[str]] = {t: set() for t in graph}
    for t, deps in graph.items():
        for d in deps:
            blocks.setdefault(d, set()).add(t)
    return {t: frozenset(b) for t, b in blocks.items()}


class Dependent(NamedTuple):
    """What ``settle`` needs to know about a task that waits on the settled one."""

    status: TaskStatus
    waiting_on: Collection[str]


@dataclass(frozen=True)
class Unblocking:
    """The effect of a task settling on its dependents, for the store to apply.

    ``waiting_on`` holds the new value for every dependent that was waiting on the settled task;
    ``ready`` lists (sorted) the blocked dependents that now wait on nothing and must move to
    ready, and whose owners should be told.
    """

    settled: str
    waiting_on: Mapping[str, frozenset[str]]
    ready: tuple[str, ...]
    kind: str = "unblocking"


def settle(settled_id: str, dependents: Mapping[str, Dependent]) -> Unblocking:
    """What happens to the tasks that wait on ``settled_id`` once it is done or cancelled.

    Only ``blocked`` dependents become ready: a cancelled or claimed dependent keeps its status.
    A dependent no longer waiting on ``settled_id`` is left out, so replaying a completion
    changes nothing and announces nobody twice.
    """
    new_waiting: dict[str, frozenset[str]] = {}
    ready: list[str] = []
    for task_id, dep in dependents.items():
        if settled_id not in dep.waiting_on:
            continue  # already applied, e.g. a replayed completion: nothing to do
        remaining = frozenset(dep.waiting_on) - {settled_id}
        new_waiting[task_id] = remaining
        if not remaining and dep.status == TaskStatus.BLOCKED:
            ready.append(task_id)
    return Unblocking(settled=settled_id, waiting_on=new_waiting, ready=tuple(sorted(ready)))
