"""How far one user gets through a funnel, and the times of their first furthest chain.

Pure functions over one user's events, given as *moments*: ``(t, masks)`` in time order, ``t``
an instant in integer microseconds and ``masks`` one bitmask per event at that instant (bit
``i`` set when the event is step ``i + 1``). A chain is events e1…ek of steps 1…k, each at the
same time as the one before or later, all distinct, with ek no later than e1 + window and e1
before the range's end.

Events at equal times may come in any order, so each moment is matched as a whole: steps
``i…j`` can be taken there when distinct events of the moment can be assigned to them (a small
bipartite matching; one event usually, so a bit test). Across moments the choice is greedy,
which is exact: from a given state, reaching a further step by a given time never hurts later.

``furthest`` runs ClickHouse's windowFunnel idea over moments: per step, the latest start of
a chain reaching it so far (a later start leaves more of the window for the next steps).
``first_chain`` then walks starts in time order and, from each, takes every next step at the
earliest moment it can; the first start that reaches the user's furthest step gives the
chain whose step-to-step times the report's medians use.
"""

from functools import lru_cache


@lru_cache(maxsize=4096)
def extend(masks, done, steps):
    """How many steps are done after this moment, ``done`` of ``steps`` done before it.

    ``masks`` is the moment's events (a tuple of bitmasks). Steps ``done + 1…`` are taken in
    order for as long as distinct events can be assigned to all of them at once.
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


def furthest(moments, steps, window, range_end):
    """The furthest step (0…``steps``) any chain of the user reaches."""
    latest = [None] * (steps + 1)  # latest[k]: the latest start of a chain reaching step k
    best = 0
    for t, masks in moments:
        present = 0
        for mask in masks:
            present |= mask
        # Each state, from the furthest down, so that a state read here was set before this
        # moment (a chain reaching step k reaches every step before it: 0…best are all set).
        for done in range(min(best, steps - 1), -1, -1):
            if not present >> done & 1:
                continue  # no event here is the next step
            if done == 0:
                if t >= range_end:
                    continue
                start = t
            else:
                start = latest[done]
                if t > start + window:
                    continue
            reached = extend(masks, done, steps)
            for step in range(done + 1, reached + 1):
                if latest[step] is None or latest[step] < start:
                    latest[step] = start
            best = max(best, reached)
        if best == steps:
            break
    return best


def first_chain(moments, target, steps, window, range_end):
    """The times of steps 1…``target`` in the chain from the earliest start that reaches
    step ``target``, each step at the earliest moment it can be taken; None when none does."""
    for first, (start, masks) in enumerate(moments):
        if start >= range_end:
            return None
        done = extend(masks, 0, steps)
        if not done:
            continue
        times = [start] * done
        later = first + 1
        while done < target and later < len(moments) and moments[later][0] <= start + window:
            t, masks = moments[later]
            reached = extend(masks, done, steps)
            times += [t] * (reached - done)
            done = reached
            later += 1
        if done >= target:
            return times[:target]
    return None
