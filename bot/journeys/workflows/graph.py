"""Graph questions about a workflow's steps: what is reachable, from where an end can be reached, cycles."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Mapping

from bot.journeys.workflows.schema import Edge, Step, edges

EdgeFilter = Callable[[Edge], bool]


def successors(steps: Mapping[str, Step], keep: EdgeFilter = lambda e: True) -> dict[str, list[str]]:
    return {sid: [e.target for e in edges(step) if keep(e) and e.target in steps] for sid, step in steps.items()}


def reachable(graph: Mapping[str, list[str]], sources: Iterable[str]) -> set[str]:
    seen = {s for s in sources if s in graph}
    queue = deque(seen)
    while queue:
        for nxt in graph[queue.popleft()]:
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return seen


def reversed_graph(graph: Mapping[str, list[str]]) -> dict[str, list[str]]:
    back: dict[str, list[str]] = {node: [] for node in graph}
    for node, targets in graph.items():
        for target in targets:
            back[target].append(node)
    return back


def cycles(graph: Mapping[str, list[str]]) -> list[list[str]]:
    """Strongly connected components that contain a cycle (two or more steps, or a step leading to itself)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(root: str) -> None:  # iterative Tarjan: workflows are small, but recursion limits are not worth it
        nonlocal counter
        work = [(root, iter(graph[root]))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(graph[child])))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in graph[node]:
                    found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found
