/*
 * idmap.c - open addressing with linear probing and backward-shift delete.
 * See idmap.h.
 */
#include "idmap.h"

#include <stdlib.h>

#include "xmalloc.h"

struct idmap_slot {
	int64_t id;
	void *value;  /* NULL = empty slot */
};

struct idmap {
	struct idmap_slot *slots;  /* owned; size is a power of two */
	size_t size;
	size_t count;
};

static size_t
idmap_hash(int64_t id, size_t size)
{
	uint64_t h = (uint64_t)id * 0x9e3779b97f4a7c15ULL;

	return (size_t)(h >> 32) & (size - 1);
}

struct idmap *
idmap_new(void)
{
	struct idmap *map = xcalloc(1, sizeof *map);

	map->size = 64;
	map->slots = xcalloc(map->size, sizeof *map->slots);
	return map;
}

void
idmap_free(struct idmap *map)
{
	if (map == NULL)
		return;
	free(map->slots);
	free(map);
}

void
idmap_free_values(struct idmap *map, void (*free_value)(void *value))
{
	if (map == NULL)
		return;
	for (size_t i = 0; i < map->size; i++) {
		if (map->slots[i].value != NULL)
			free_value(map->slots[i].value);
	}
	idmap_free(map);
}

static size_t
idmap_find(const struct idmap *map, int64_t id)
{
	size_t i = idmap_hash(id, map->size);

	while (map->slots[i].value != NULL && map->slots[i].id != id)
		i = (i + 1) & (map->size - 1);
	return i;
}

void *
idmap_get(const struct idmap *map, int64_t id)
{
	return map->slots[idmap_find(map, id)].value;
}

static void
idmap_grow(struct idmap *map)
{
	struct idmap_slot *old = map->slots;
	size_t old_size = map->size;

	map->size *= 2;
	map->slots = xcalloc(map->size, sizeof *map->slots);
	for (size_t i = 0; i < old_size; i++) {
		if (old[i].value != NULL)
			map->slots[idmap_find(map, old[i].id)] = old[i];
	}
	free(old);
}

void
idmap_put(struct idmap *map, int64_t id, void *value)
{
	size_t i;

	if ((map->count + 1) * 4 > map->size * 3)
		idmap_grow(map);
	i = idmap_find(map, id);
	if (map->slots[i].value == NULL)
		map->count++;
	map->slots[i].id = id;
	map->slots[i].value = value;
}

void
idmap_remove(struct idmap *map, int64_t id)
{
	size_t mask = map->size - 1, i = idmap_find(map, id), j = i;

	if (map->slots[i].value == NULL)
		return;
	map->slots[i].value = NULL;
	map->count--;
	/* Shift later members of the probe run back so lookups never stop early. */
	for (;;) {
		size_t home;

		j = (j + 1) & mask;
		if (map->slots[j].value == NULL)
			return;
		home = idmap_hash(map->slots[j].id, map->size);
		if ((j > i && (home <= i || home > j)) || (j < i && (home <= i && home > j))) {
			map->slots[i] = map->slots[j];
			map->slots[j].value = NULL;
			i = j;
		}
	}
}

size_t
idmap_count(const struct idmap *map)
{
	return map->count;
}

void
idmap_foreach(const struct idmap *map, void (*fn)(int64_t id, void *value, void *arg), void *arg)
{
	for (size_t i = 0; i < map->size; i++) {
		if (map->slots[i].value != NULL)
			fn(map->slots[i].id, map->slots[i].value, arg);
	}
}
