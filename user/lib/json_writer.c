// SPDX-License-Identifier: GPL-2.0
#include <math.h>
#include <string.h>
#include "json_writer.h"

void jsonw_init(json_writer_t *w, FILE *out, bool pretty)
{
	memset(w, 0, sizeof(*w));
	w->out = out;
	w->pretty = pretty;
}

static void indent(json_writer_t *w)
{
	if (!w->pretty)
		return;
	fputc('\n', w->out);
	for (unsigned int i = 0; i < w->depth; i++)
		fputs("  ", w->out);
}

/* Before any value or name: the comma and indent that separate it. */
static void begin_item(json_writer_t *w)
{
	if (w->after_name) {
		w->after_name = false;
		return;
	}
	if (w->depth && w->sep[w->depth])
		fputc(',', w->out);
	if (w->depth)
		indent(w);
	w->sep[w->depth] = true;
}

static void jw_open(json_writer_t *w, char c)
{
	begin_item(w);
	fputc(c, w->out);
	if (w->depth + 1 < JSONW_MAX_DEPTH)
		w->depth++;
	w->sep[w->depth] = false;
}

static void jw_close(json_writer_t *w, char c)
{
	bool had_items = w->sep[w->depth];

	if (w->depth)
		w->depth--;
	if (had_items)
		indent(w);
	fputc(c, w->out);
	if (!w->depth) {
		fputc('\n', w->out);
		fflush(w->out);
	}
}

void jsonw_start_object(json_writer_t *w)
{
	jw_open(w, '{');
}

void jsonw_end_object(json_writer_t *w)
{
	jw_close(w, '}');
}

void jsonw_start_array(json_writer_t *w)
{
	jw_open(w, '[');
}

void jsonw_end_array(json_writer_t *w)
{
	jw_close(w, ']');
}

static void put_escaped(FILE *out, const char *s)
{
	fputc('"', out);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"':  fputs("\\\"", out); break;
		case '\\': fputs("\\\\", out); break;
		case '\n': fputs("\\n", out); break;
		case '\r': fputs("\\r", out); break;
		case '\t': fputs("\\t", out); break;
		default:
			if (*p < 0x20)
				fprintf(out, "\\u%04x", *p);
			else
				fputc(*p, out);
		}
	}
	fputc('"', out);
}

void jsonw_name(json_writer_t *w, const char *name)
{
	begin_item(w);
	put_escaped(w->out, name);
	fputs(w->pretty ? ": " : ":", w->out);
	w->after_name = true;
}

void jsonw_string(json_writer_t *w, const char *s)
{
	begin_item(w);
	put_escaped(w->out, s ? s : "");
}

void jsonw_uint(json_writer_t *w, uint64_t v)
{
	begin_item(w);
	fprintf(w->out, "%llu", (unsigned long long)v);
}

void jsonw_int(json_writer_t *w, int64_t v)
{
	begin_item(w);
	fprintf(w->out, "%lld", (long long)v);
}

void jsonw_float(json_writer_t *w, double v)
{
	begin_item(w);
	if (isfinite(v))
		fprintf(w->out, "%.6g", v);
	else
		fputs("null", w->out);
}

void jsonw_bool(json_writer_t *w, bool v)
{
	begin_item(w);
	fputs(v ? "true" : "false", w->out);
}

void jsonw_null(json_writer_t *w)
{
	begin_item(w);
	fputs("null", w->out);
}

void jsonw_string_field(json_writer_t *w, const char *name, const char *s)
{
	jsonw_name(w, name);
	jsonw_string(w, s);
}

void jsonw_uint_field(json_writer_t *w, const char *name, uint64_t v)
{
	jsonw_name(w, name);
	jsonw_uint(w, v);
}

void jsonw_int_field(json_writer_t *w, const char *name, int64_t v)
{
	jsonw_name(w, name);
	jsonw_int(w, v);
}

void jsonw_float_field(json_writer_t *w, const char *name, double v)
{
	jsonw_name(w, name);
	jsonw_float(w, v);
}

void jsonw_bool_field(json_writer_t *w, const char *name, bool v)
{
	jsonw_name(w, name);
	jsonw_bool(w, v);
}
