/* cli_int.h: what cli.c shares with cli_talk.c and no tool uses directly. */
#ifndef CLI_INT_H
#define CLI_INT_H

#include <jansson.h>
#include <stddef.h>

#include "rx.pb-c.h"

/* The string member k of object o, or NULL if it is missing or not a string. */
const char *cli_str_field(json_t *o, const char *k);
/* One item from object o into *it (its strings point into o); what names
 * it in msg ("item 2", "line 1: \"handed\"").  0, or -1 with msg set. */
int cli_item_from_json(json_t *o, const char *what, Rx__Item *it, char *msg, size_t msglen);
/* An item as JSON, in the shape cli_item_from_json reads.  Caller owns it. */
json_t *cli_item_to_json(const Rx__Item *it);
/* The enum value named s in names (n of them, gaps NULL), or -1; and the
 * name of value v ("unknown" outside names). */
int cli_enum_of(const char *const *names, size_t n, const char *s);
const char *cli_enum_name(const char *const *names, size_t n, int v);

#endif
