/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small streaming JSON emitter: objects, arrays, strings, numbers.  The
 * writer tracks nesting and commas, so callers only say what comes next.
 * Output is compact unless pretty is set (two-space indent).
 */
#ifndef VS_JSON_WRITER_H
#define VS_JSON_WRITER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define JSONW_MAX_DEPTH	32

typedef struct json_writer {
	FILE *out;
	bool pretty;
	unsigned int depth;
	/* Per level: has something been written yet (a comma is due)? */
	bool sep[JSONW_MAX_DEPTH];
	/* A name was just written: the next value needs no comma. */
	bool after_name;
} json_writer_t;

void jsonw_init(json_writer_t *w, FILE *out, bool pretty);
/* Ends the document with a newline when the outermost value is closed. */
void jsonw_start_object(json_writer_t *w);
void jsonw_end_object(json_writer_t *w);
void jsonw_start_array(json_writer_t *w);
void jsonw_end_array(json_writer_t *w);
void jsonw_name(json_writer_t *w, const char *name);

void jsonw_string(json_writer_t *w, const char *s);
void jsonw_uint(json_writer_t *w, uint64_t v);
void jsonw_int(json_writer_t *w, int64_t v);
/* Non-finite values are written as null (JSON has no NaN). */
void jsonw_float(json_writer_t *w, double v);
void jsonw_bool(json_writer_t *w, bool v);
void jsonw_null(json_writer_t *w);

/* name + value in one call. */
void jsonw_string_field(json_writer_t *w, const char *name, const char *s);
void jsonw_uint_field(json_writer_t *w, const char *name, uint64_t v);
void jsonw_int_field(json_writer_t *w, const char *name, int64_t v);
void jsonw_float_field(json_writer_t *w, const char *name, double v);
void jsonw_bool_field(json_writer_t *w, const char *name, bool v);

#endif
