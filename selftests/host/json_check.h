/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A strict little JSON reader for the host tests: parses a whole document
 * (RFC 8259 grammar: no trailing commas, no bare words, no leading zeros,
 * escapes checked) into a tree, so tests can check what the tools print
 * field by field.  Strings keep their escapes undone only for \" \\ \/
 * \n \t \r \b \f; \uXXXX is kept as written.
 */
#ifndef VS_JSON_CHECK_H
#define VS_JSON_CHECK_H

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

enum jv_type { JV_NULL, JV_BOOL, JV_NUM, JV_STR, JV_ARR, JV_OBJ };

struct jv {
	enum jv_type type;
	char *key;		/* member name, in an object */
	char *str;		/* JV_STR; JV_NUM: the number as written */
	double num;
	bool b;
	struct jv *kids;	/* JV_ARR, JV_OBJ */
	int n;
};

static inline const char *jv_parse_value(const char *p, struct jv *v, int depth);

static inline const char *jv_ws(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return p;
}

static inline const char *jv_parse_string(const char *p, char **out)
{
	size_t cap = strlen(p) + 1, n = 0;
	char *s;

	if (*p++ != '"')
		return NULL;
	s = malloc(cap);
	if (!s)
		return NULL;
	for (;;) {
		unsigned char c = (unsigned char)*p++;

		if (!c || c < 0x20)
			goto bad;
		if (c == '"')
			break;
		if (c != '\\') {
			s[n++] = (char)c;
			continue;
		}
		c = (unsigned char)*p++;
		switch (c) {
		case '"': case '\\': case '/': s[n++] = (char)c; break;
		case 'n': s[n++] = '\n'; break;
		case 't': s[n++] = '\t'; break;
		case 'r': s[n++] = '\r'; break;
		case 'b': s[n++] = '\b'; break;
		case 'f': s[n++] = '\f'; break;
		case 'u':
			for (int i = 0; i < 4; i++)
				if (!isxdigit((unsigned char)p[i]))
					goto bad;
			s[n++] = '\\';
			s[n++] = 'u';
			break;
		default:
			goto bad;
		}
	}
	s[n] = '\0';
	*out = s;
	return p;
bad:
	free(s);
	return NULL;
}

static inline const char *jv_parse_number(const char *p, struct jv *v)
{
	const char *start = p;

	if (*p == '-')
		p++;
	if (*p == '0')
		p++;
	else if (isdigit((unsigned char)*p))
		while (isdigit((unsigned char)*p))
			p++;
	else
		return NULL;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return NULL;
		while (isdigit((unsigned char)*p))
			p++;
	}
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (!isdigit((unsigned char)*p))
			return NULL;
		while (isdigit((unsigned char)*p))
			p++;
	}
	v->type = JV_NUM;
	v->str = strndup(start, (size_t)(p - start));
	v->num = strtod(v->str, NULL);
	return p;
}

static inline const char *jv_parse_list(const char *p, struct jv *v, bool obj, int depth)
{
	char close = obj ? '}' : ']';

	v->type = obj ? JV_OBJ : JV_ARR;
	p = jv_ws(p + 1);
	if (*p == close)
		return p + 1;
	for (;;) {
		struct jv *k;
		char *key = NULL;

		if (obj) {
			p = jv_parse_string(jv_ws(p), &key);
			if (!p)
				return NULL;
			p = jv_ws(p);
			if (*p++ != ':') {
				free(key);
				return NULL;
			}
		}
		k = realloc(v->kids, (size_t)(v->n + 1) * sizeof(*k));
		if (!k) {
			free(key);
			return NULL;
		}
		v->kids = k;
		k = &v->kids[v->n++];
		memset(k, 0, sizeof(*k));
		k->key = key;
		p = jv_parse_value(p, k, depth + 1);
		if (!p)
			return NULL;
		p = jv_ws(p);
		if (*p == ',') {
			p++;
			continue;
		}
		if (*p == close)
			return p + 1;
		return NULL;
	}
}

static inline const char *jv_parse_value(const char *p, struct jv *v, int depth)
{
	if (depth > 64)
		return NULL;
	p = jv_ws(p);
	switch (*p) {
	case '{': return jv_parse_list(p, v, true, depth);
	case '[': return jv_parse_list(p, v, false, depth);
	case '"': v->type = JV_STR; return jv_parse_string(p, &v->str);
	case 't': v->type = JV_BOOL; v->b = true; return strncmp(p, "true", 4) ? NULL : p + 4;
	case 'f': v->type = JV_BOOL; return strncmp(p, "false", 5) ? NULL : p + 5;
	case 'n': v->type = JV_NULL; return strncmp(p, "null", 4) ? NULL : p + 4;
	default: return jv_parse_number(p, v);
	}
}

static inline void jv_free(struct jv *v)
{
	if (!v)
		return;
	for (int i = 0; i < v->n; i++) {
		free(v->kids[i].key);
		jv_free(&v->kids[i]);
	}
	free(v->kids);
	free(v->str);
	memset(v, 0, sizeof(*v));
}

/* The whole of @text is one JSON value (blanks around it allowed). */
static inline bool jv_parse(const char *text, struct jv *v)
{
	const char *end;

	memset(v, 0, sizeof(*v));
	end = jv_parse_value(text, v, 0);
	if (!end || *jv_ws(end)) {
		jv_free(v);
		return false;
	}
	return true;
}

/* Member @key of object @o, or NULL. */
static inline const struct jv *jv_get(const struct jv *o, const char *key)
{
	if (!o || o->type != JV_OBJ)
		return NULL;
	for (int i = 0; i < o->n; i++)
		if (!strcmp(o->kids[i].key, key))
			return &o->kids[i];
	return NULL;
}

/* A member that is a non-negative integer: its value, or -1. */
static inline double jv_uint(const struct jv *o, const char *key)
{
	const struct jv *v = jv_get(o, key);

	if (!v || v->type != JV_NUM || strpbrk(v->str, ".eE-"))
		return -1;
	return v->num;
}

static inline const char *jv_str(const struct jv *o, const char *key)
{
	const struct jv *v = jv_get(o, key);

	return v && v->type == JV_STR ? v->str : NULL;
}

#endif
