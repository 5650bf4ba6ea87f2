// SPDX-License-Identifier: GPL-2.0
/*
 * Mappings: "LISTEN TARGET" pairs from the command line or a config file
 * (one pair a line, '#' starts a comment, blank lines ignored).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "vsproxy.h"

int vsp_map_add(struct vsp_opts *o, const char *listen, const char *target,
		const char *where)
{
	struct vsp_map *maps, *m;
	char err[256];
	int i;

	maps = realloc(o->maps, (o->nr_maps + 1) * sizeof(*maps));
	if (!maps) {
		p_err("%s: %s", where, strerror(errno));
		return -1;
	}
	o->maps = maps;
	m = &maps[o->nr_maps];
	memset(m, 0, sizeof(*m));

	if (vs_addr_parse(listen, &m->listen, err, sizeof(err))) {
		p_err("%s: invalid LISTEN %s", where, err);
		return -1;
	}
	if (vs_addr_parse(target, &m->target, err, sizeof(err))) {
		p_err("%s: invalid TARGET %s", where, err);
		return -1;
	}
	for (i = 0; i < o->nr_maps; i++) {
		if (maps[i].listen.len == m->listen.len &&
		    !memcmp(&maps[i].listen.ss, &m->listen.ss, m->listen.len)) {
			p_err("%s: LISTEN %s is already used by %s", where, listen,
			      maps[i].where);
			return -1;
		}
	}
	m->where = strdup(where);
	if (!m->where) {
		p_err("%s: %s", where, strerror(errno));
		return -1;
	}
	o->nr_maps++;
	return 0;
}

/* Split one line into at most max words; returns the count, or max + 1. */
static int split(char *line, char **words, int max)
{
	char *save, *w;
	int n = 0;

	for (w = strtok_r(line, " \t\r\n", &save); w; w = strtok_r(NULL, " \t\r\n", &save)) {
		if (n == max)
			return max + 1;
		words[n++] = w;
	}
	return n;
}

int vsp_config_load(const char *path, struct vsp_opts *o)
{
	char *line = NULL, *hash, *words[2], where[512];
	size_t cap = 0;
	int lineno = 0, n, ret = 0, added = 0;
	FILE *f;

	f = fopen(path, "r");
	if (!f) {
		p_err("open config %s: %s", path, strerror(errno));
		return -1;
	}
	while (getline(&line, &cap, f) > 0) {
		lineno++;
		hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		snprintf(where, sizeof(where), "%s:%d", path, lineno);
		n = split(line, words, 2);
		if (n == 0)
			continue;
		if (n != 2) {
			p_err("%s: %s: expected 'LISTEN TARGET'", where,
			      n == 1 ? "missing TARGET" : "too many words");
			ret = -1;
			break;
		}
		if (vsp_map_add(o, words[0], words[1], where)) {
			ret = -1;
			break;
		}
		added++;
	}
	if (!ret && ferror(f)) {
		p_err("read config %s: %s", path, strerror(errno));
		ret = -1;
	}
	if (!ret && !added) {
		p_err("%s: no mapping (expected 'LISTEN TARGET' lines)", path);
		ret = -1;
	}
	free(line);
	fclose(f);
	return ret;
}
