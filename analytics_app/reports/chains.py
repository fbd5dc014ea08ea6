"""How far one user gets through a funnel, and the times of their first furthest chain.

Pure functions over one user's step events. A chain is events e1…ek of steps 1…k, each at the
same time as the one before or later, all distinct, with ek no later than e1 + window and e1
before the range's end (the caller reads no event before the range).

From a given first event the chain is built greedily: each next step at the earliest moment it
can be taken. That is exact: from a given state, reaching a step sooner never hurts the steps
after it, so the greedy chain reaches as far as any chain from that start, each step at its
earliest. The user's furthest step is the furthest greedy reach over their starts, and their
first furthest chain the greedy chain of the earliest start that reaches it. A later start
never reaches a step sooner than an earlier one, so once a chain runs out of events for its
next step no later start gets further, and the walk stops.

Events at one instant may come in any order, so an instant holding several events is matched
as a whole: steps ``i…j`` can be taken there when distinct events of the instant can be
assigned to them (a small bipartite matching, ``extend``). Most users have no two step events
at one instant; ``walk_distinct`` serves them with a binary search per step and no matching.
On PostgreSQL a user's step events come packed into integers, ``time * 1024 + mask``
(``walk_packed``).
"""

from bisect import bisect_left, bisect_right
from functools import lru_cache

from .steps import MAX_STEPS

MASK_SPACE = 1 << MAX_STEPS
PREFIX = 128


@lru_cache(maxsize=4096)
def extend(masks, done, steps):
    """How many steps are done after an instant, ``done`` of ``steps`` done before it.

    ``masks`` is the instant's events (a tuple of bitmasks, bit ``i`` for step ``i + 1``).
    Steps ``done + 1…`` are taken in order for as long as distinct events can be assigned to
    all of them at once.
    """
    if len(masks) == 1:
        return done + 1 if done < steps and masks[0] >> done & 1 else done
    owner = {}  # event index -> the step it is assigned to
    reached = done
    for step in range(done, steps):
        if not _assign(step, masks, owner, set()):
            break
        reached = step + 1
    return reached


def _assign(step, masks, owner, tried):
    """Kuhn's augmenting path: give ``step`` an event, moving other steps' events if needed."""
    for event, mask in enumerate(masks):
        if mask >> step & 1 and event not in tried:
            tried.add(event)
            if event not in owner or _assign(owner[event], masks, owner, tried):
                owner[event] = step
                return True
    return False


def walk_distinct(times, steps, window, range_end):
    """``(furthest step, its first chain's times)`` of a user whose step events are all at
    distinct instants; ``times[k]`` lists the instants of step ``k + 1``'s events, sorted.

    The starts are taken in runs: the starts before the same next step-2 event share the rest
    of their greedy chain, so it is followed once per run, as far as the run's last start (the
    latest deadline) allows; the run's earliest start that reaches as far is then found by a
    binary search. Users start far more often than they take step 2.
    """
    starts, seconds = times[0], times[1]
    count = bisect_left(starts, range_end)  # the starts inside the range
    if not count:
        return 0, None
    best, chain, first = 1, [starts[0]], 0
    while first < count:
        position = bisect_right(seconds, starts[first])  # strictly later: a distinct event
        if position == len(seconds):
            break  # no later start takes step 2 either
        end = bisect_left(starts, seconds[position], first, count)  # this run: starts[first:end]
        taken, exhausted = _follow(times, steps, starts[first], starts[end - 1] + window)
        if len(taken) + 1 > best:
            earliest = bisect_left(starts, taken[-1] - window, first, end)
            best, chain = len(taken) + 1, [starts[earliest], *taken]
        if best == steps or exhausted:
            break
        first = end
    return best, chain


def _follow(times, steps, start, limit):
    """The greedy chain's times after ``start`` up to ``limit``, and whether it ran out of
    events (then no later start gets further)."""
    taken, t = [], start
    while len(taken) + 1 < steps:
        later = times[len(taken) + 1]
        position = bisect_right(later, t)
        if position == len(later):
            return taken, True
        t = later[position]
        if t > limit:
            break
        taken.append(t)
    return taken, False


def walk(moments, steps, window, range_end):
    """``(furthest step, its first chain's times)`` of a user given as *moments*: ``(t,
    masks)`` in time order, one per instant, ``masks`` the bitmasks of its events."""
    holding = [[] for _ in range(steps)]  # holding[k]: the moments with an event of step k + 1
    for index, (_, masks) in enumerate(moments):
        present = 0
        for mask in masks:
            present |= mask
        for step in range(steps):
            if present >> step & 1:
                holding[step].append(index)
    best, chain = 0, None
    for first in holding[0]:
        start, masks = moments[first]
        if start >= range_end:
            break
        done = extend(masks, 0, steps)
        taken, limit, index = [start] * done, start + window, first
        exhausted = False
        while done < steps:
            later = holding[done]
            position = bisect_right(later, index)
            if position == len(later):
                exhausted = True
                break
            index = later[position]
            t, masks = moments[index]
            if t > limit:
                break
            reached = extend(masks, done, steps)
            taken += [t] * (reached - done)
            done = reached
        if done > best:
            best, chain = done, taken
        if best == steps or exhausted:
            break
    return best, chain


def walk_packed(packed, steps, window, range_end):
    """A user's walk from their sorted packed events, trying the first ``PREFIX`` alone first.

    Busy users have thousands of step events and usually finish the funnel early on. A walk
    over a prefix (cut between two instants) that reaches the last step is the walk over all
    of them: every start before the winning one stopped at an event inside the prefix (past
    its window), and the winning chain took the earliest events there are.
    """
    if len(packed) > PREFIX:
        cut = PREFIX
        while cut < len(packed) and packed[cut] >> MAX_STEPS == packed[cut - 1] >> MAX_STEPS:
            cut += 1
        found = _walk_values(packed[:cut], steps, window, range_end)
        if found[0] == steps:
            return found
    return _walk_values(packed, steps, window, range_end)


def _walk_values(packed, steps, window, range_end):
    """``walk_distinct`` when no two of the step events share an instant (the usual case: each
    step's instants are then a sorted list made by a comprehension), or else ``walk`` over
    the events grouped by instant."""
    if len({value >> MAX_STEPS for value in packed}) == len(packed):
        bits = [1 << step for step in range(steps)]
        times = [[value >> MAX_STEPS for value in packed if value & bit] for bit in bits]
        return walk_distinct(times, steps, window, range_end)
    return walk(_unpack(packed), steps, window, range_end)


def _unpack(packed):
    """A packed array as moments: events at equal times together."""
    moments, previous = [], None
    for value in packed:
        t, mask = value >> MAX_STEPS, value & (MASK_SPACE - 1)
        if t == previous:
            moments[-1] = (t, (*moments[-1][1], mask))
        else:
            moments.append((t, (mask,)))
            previous = t
    return moments
