/* Filter coverage, level by level. A filter denotes a set of topic names;
 * outer covers inner when inner's set is a subset of outer's. Walking both
 * filters level by level decides that exactly:
 *
 *  - '#' in outer takes everything from its level on, including the parent
 *    (zero more levels), so it covers whatever inner has left;
 *  - otherwise inner's level must be covered by outer's: '+' covers a
 *    literal or '+', a literal covers only itself ('+' and '#' in inner stand
 *    for many levels, which one literal cannot);
 *  - both must end together, since outer's next level (not '#') would need
 *    a level that inner's topics do not have, and vice versa.
 *
 * Two cases need more than that walk:
 *  - '$' topics: a leading wildcard matches none of them, so a filter that
 *    starts with a wildcard cannot cover one whose first level starts with
 *    '$'. Inner filters starting with a wildcard match no '$' topic either.
 *  - '#' in inner against "+/#" in outer: outer takes every topic below the
 *    level, and misses only inner's parent (the levels before the '#'). When
 *    that parent is not a topic at all (there are no levels before, or one
 *    empty level: topics are not empty strings), outer covers inner, so
 *    "+/#" covers "#" and "/+/#" covers "/#". */
#include "policy/filter_cover.h"

#include <stdint.h>
#include <string.h>

#include "mqtt_topic.h"

static bool level_is(mqtt_bytes level, char c)
{
    return level.len == 1 && level.data[0] == (uint8_t)c;
}

static bool views_equal(mqtt_bytes a, mqtt_bytes b)
{
    return a.len == b.len && memcmp(a.data, b.data, a.len) == 0;
}

bool mqtt_filter_covers(const char *outer, size_t outer_len, const char *inner, size_t inner_len)
{
    if (!outer || !inner || outer_len == 0 || inner_len == 0 || outer_len > UINT32_MAX ||
        inner_len > UINT32_MAX)
        return false;
    mqtt_bytes o = {.data = (const uint8_t *)outer, .len = (uint32_t)outer_len};
    mqtt_bytes in = {.data = (const uint8_t *)inner, .len = (uint32_t)inner_len};
    /* In a valid filter a level starting with '+' or '#' is that wildcard. */
    if (in.data[0] == '$' && (o.data[0] == '+' || o.data[0] == '#'))
        return false;

    uint32_t opos = 0, ipos = 0, depth = 0;
    mqtt_bytes olevel, ilevel;
    bool first_level_empty = false;
    for (;; depth++) {
        bool outer_has = mqtt_topic_level_next(o, &opos, &olevel);
        bool inner_has = mqtt_topic_level_next(in, &ipos, &ilevel);
        if (!outer_has)
            return !inner_has;
        if (level_is(olevel, '#'))
            return true; /* also when inner has ended: "a/#" matches "a" */
        if (!inner_has)
            return false;
        if (level_is(ilevel, '#')) {
            bool no_parent = depth == 0 || (depth == 1 && first_level_empty);
            bool outer_rest_is_hash = opos + 1 == o.len && o.data[opos] == '#';
            return no_parent && level_is(olevel, '+') && outer_rest_is_hash;
        }
        if (depth == 0)
            first_level_empty = ilevel.len == 0;
        if (level_is(olevel, '+'))
            continue; /* a literal or '+' in inner */
        if (level_is(ilevel, '+') || !views_equal(olevel, ilevel))
            return false;
    }
}
