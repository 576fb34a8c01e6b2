"""Word error rate: a word-level Levenshtein distance after normalisation
(lower case, no punctuation), optionally with numbers written as words."""
import re

_ONES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
         "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
_TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_ORDINALS = {"one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth",
             "nine": "ninth", "twelve": "twelfth"}


def number_words(n):
    """0 <= n < 1,000,000 as English words ("twenty five", "three hundred and one" without "and")."""
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])
    if n < 1000:
        rest = n % 100
        return _ONES[n // 100] + " hundred" + ("" if rest == 0 else " " + number_words(rest))
    rest = n % 1000
    return number_words(n // 1000) + " thousand" + ("" if rest == 0 else " " + number_words(rest))


def ordinal_words(n):
    words = number_words(n).split()
    last = words[-1]
    if last in _ORDINALS:
        words[-1] = _ORDINALS[last]
    elif last.endswith("y"):
        words[-1] = last[:-1] + "ieth"
    else:
        words[-1] = last + "th"
    return " ".join(words)


def normalise(text, numbers=False):
    """The words of `text`: lower case, apostrophes dropped, other punctuation a
    space. With numbers=True digits (and 1st, 2nd, ...) become words first."""
    t = text.lower().replace("'", "").replace("\u2019", "")
    if numbers:
        t = re.sub(r"(\d+)(st|nd|rd|th)\b", lambda m: " " + ordinal_words(int(m.group(1))) + " ", t)
        t = re.sub(r"(?<=\d),(?=\d{3})", "", t)  # 1,000
        t = re.sub(r"\d+", lambda m: " " + number_words(int(m.group(0))) + " " if len(m.group(0)) <= 6 else m.group(0), t)
        t = t.replace("%", " percent ")
    t = re.sub(r"[^\w\s]|_", " ", t)
    return t.split()


def edit_distance(ref, hyp):
    """Substitutions + deletions + insertions turning the list ref into hyp."""
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        cur = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h))
        prev = cur
    return prev[-1]


def wer(reference, hypothesis, numbers=False):
    """(errors, reference word count) for two texts."""
    ref = normalise(reference, numbers)
    hyp = normalise(hypothesis, numbers)
    return edit_distance(ref, hyp), len(ref)
