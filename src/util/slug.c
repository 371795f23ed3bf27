#include "slug.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

static int is_word_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9');
}

char *slug_make(const char *text, size_t max)
{
	struct buf b = BUF_INIT;
	size_t last_cut = 0;   /* length before the last hyphen */
	int pending_hyphen = 0;

	if (max < 1)
		max = 1;
	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		if (!is_word_char(*p)) {
			pending_hyphen = b.len > 0;
			continue;
		}
		if (pending_hyphen) {
			if (b.len + 1 >= max)
				break;
			last_cut = b.len;
			buf_add(&b, "-", 1);
			pending_hyphen = 0;
		}
		if (b.len >= max) {
			/* The word does not fit: drop it if an earlier word ended. */
			if (last_cut)
				b.len = last_cut;
			break;
		}
		char c = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
		buf_add(&b, &c, 1);
	}
	if (b.len && b.data[b.len - 1] == '-')
		b.len--;
	if (!b.len) {
		buf_release(&b);
		return xstrdup("image");
	}
	b.data[b.len] = '\0';
	return buf_detach(&b);
}

char *slug_folder(const char *const *prompts, size_t count)
{
	struct buf b = BUF_INIT;

	for (size_t i = 0; i < count && i < 3; i++) {
		char *s = slug_make(prompts[i], 20);
		buf_addf(&b, "%s%s", b.len ? "-" : "", s);
		free(s);
	}
	if (count > 3)
		buf_addf(&b, "-%zu-more", count - 3);
	if (!b.len)
		buf_adds(&b, "batch");
	return buf_detach(&b);
}
