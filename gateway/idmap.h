/*
 * idmap.h - a hash map from 64-bit database ids to pointers.
 *
 * Used for "which conversations is this process stepping right now", which
 * is looked up on every inbound message, so it must not be a list scan.
 */
#ifndef CARENAV_GATEWAY_IDMAP_H
#define CARENAV_GATEWAY_IDMAP_H

#include <stddef.h>
#include <stdint.h>

struct idmap;

struct idmap *idmap_new(void);
void idmap_free(struct idmap *map);  /* frees the map, not the values */
/* Frees every value with free_value, then the map (NULL: a no-op). */
void idmap_free_values(struct idmap *map, void (*free_value)(void *value));
void *idmap_get(const struct idmap *map, int64_t id);
/* Sets id -> value (value must not be NULL); replaces an existing entry. */
void idmap_put(struct idmap *map, int64_t id, void *value);
void idmap_remove(struct idmap *map, int64_t id);
size_t idmap_count(const struct idmap *map);
/* Calls fn for every entry; fn must not change the map. */
void idmap_foreach(const struct idmap *map, void (*fn)(int64_t id, void *value, void *arg), void *arg);

#endif
