#!/usr/bin/python3
"""Prints the transliteration tables of src/util/slug.c: each Latin letter of
U+00C0-U+024F and U+1E00-U+1EFF as lower-case ASCII (its decomposition without
marks, or a spelling for the letters that have none: ß ss, æ ae, ø o, þ th...),
"-" for a sign that separates words (× ÷), "" for a letter kept as it is."""
import unicodedata

SPECIAL = {
    'ß': 'ss', 'ẞ': 'ss', 'æ': 'ae', 'Æ': 'ae', 'ǣ': 'ae', 'Ǣ': 'ae', 'ǽ': 'ae', 'Ǽ': 'ae',
    'ø': 'o', 'Ø': 'o', 'ǿ': 'o', 'Ǿ': 'o', 'œ': 'oe', 'Œ': 'oe', 'đ': 'd', 'Đ': 'd',
    'ð': 'd', 'Ð': 'd', 'þ': 'th', 'Þ': 'th', 'ħ': 'h', 'Ħ': 'h', 'ı': 'i', 'ĸ': 'k',
    'ł': 'l', 'Ł': 'l', 'ŀ': 'l', 'Ŀ': 'l', 'ŋ': 'ng', 'Ŋ': 'ng', 'ŧ': 't', 'Ŧ': 't',
    'ſ': 's', 'ĳ': 'ij', 'Ĳ': 'ij', 'ŉ': 'n', 'ƀ': 'b', 'Ɓ': 'b', 'ƈ': 'c', 'Ƈ': 'c',
    'ɖ': 'd', 'Ɖ': 'd', 'ƒ': 'f', 'Ƒ': 'f', 'ɠ': 'g', 'Ɠ': 'g', 'ƙ': 'k', 'Ƙ': 'k',
    'ƚ': 'l', 'Ƚ': 'l', 'ɲ': 'n', 'Ɲ': 'n', 'ƥ': 'p', 'Ƥ': 'p', 'ƫ': 't', 'ƭ': 't',
    'Ƭ': 't', 'ʈ': 't', 'Ʈ': 't', 'ƴ': 'y', 'Ƴ': 'y', 'ƶ': 'z', 'Ƶ': 'z', 'ȥ': 'z',
    'Ȥ': 'z', 'ɇ': 'e', 'Ɇ': 'e', 'ɉ': 'j', 'Ɉ': 'j', 'ɍ': 'r', 'Ɍ': 'r', 'ɏ': 'y',
    'Ɏ': 'y', 'ȼ': 'c', 'Ȼ': 'c', 'ɨ': 'i', 'Ɨ': 'i', 'ʉ': 'u', 'Ʉ': 'u', 'ƣ': 'oi',
    'Ƣ': 'oi', 'ȸ': 'db', 'ȹ': 'qp', 'ǆ': 'dz', 'ǅ': 'dz', 'Ǆ': 'dz', 'ǉ': 'lj',
    'ǈ': 'lj', 'Ǉ': 'lj', 'ǌ': 'nj', 'ǋ': 'nj', 'Ǌ': 'nj', 'ǳ': 'dz', 'ǲ': 'dz',
    'Ǳ': 'dz', 'ƿ': 'w', 'Ƿ': 'w',
}


def spelled(ch):
    if ch in SPECIAL:
        return SPECIAL[ch]
    ascii_ = ''.join(c for c in unicodedata.normalize('NFKD', ch) if ord(c) < 128).lower()
    if ascii_.isalnum() and len(ascii_) <= 2:
        return ascii_
    return '-' if unicodedata.category(ch)[0] != 'L' else ''


def table(name, lo, hi):
    print(f"static const char {name}[][3] = {{")
    for row in range(lo, hi + 1, 8):
        cells = ", ".join(f'"{spelled(chr(cp))}"' for cp in range(row, min(row + 8, hi + 1)))
        print(f"\t/* U+{row:04X} */ {cells},")
    print("};")


table("latin", 0xC0, 0x24F)
table("latin_additional", 0x1E00, 0x1EFF)
