/* Strict number parsers for text from users and servers. */
#ifndef IMAGEGEN_VALUE_H
#define IMAGEGEN_VALUE_H

/* A decimal integer within [min, max], nothing else around it. 0 or -1. */
int value_parse_long(const char *s, double min, double max, long *out);
/* A finite decimal number within [min, max]. 0 or -1. */
int value_parse_seconds(const char *s, double min, double max, double *out);
/* An amount of US dollars within [min, max]: "5", "0.25", "$12.50" (no
 * exponent, no sign). 0 or -1. */
int value_parse_dollars(const char *s, double min, double max, double *out);

#endif
