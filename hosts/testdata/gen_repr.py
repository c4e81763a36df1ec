# Generates repr.json: python3 gen_repr.py > repr.json
# Python's repr() of host strings, as Django's DisallowedHost messages use it.
import json

cases = [
    "example.com", "a'b", 'a"b', "a'b\"c", "\\", "a\\'b", "\t\n\r", "\x00\x01\x1f\x7f",
    "\x80\x9f\xa0\xad\xe9\xff", "bücher.example", "\u200b\u200e\u2028\u2029\ufeff",
    "\u0301a\u0301", "\U0001F600", "\U000E0001", "\uE000", "\u0378", "İ", "\u212a",
    "\u3000full width", "العربية", "日本", "x" * 40 + "'",
]
print(json.dumps([{"s": s, "repr": repr(s)} for s in cases], indent=1, ensure_ascii=False))
