"""English word forms: a rule word's inflections and agent nouns, generated when rules are
compiled and checked against a lemma dictionary (see :mod:`.families`)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence

from monitor.stages.rules.language import stemmer
from monitor.stages.rules.overrides import NO_OVERRIDES, WordOverrides
from monitor.stages.rules.words import VOWELS, vowel_count

# --- English -----------------------------------------------------------------------------------

# Irregular forms a regular rule cannot make, written out: verbs (past, participle) and nouns.
IRREGULAR_EN: dict[str, tuple[str, ...]] = {
    w.split(":")[0]: tuple(w.split(":")[1].split(","))
    for w in """
    arise:arose,arisen be:is,are,was,were,been,am beat:beaten become:became begin:began,begun
    bite:bit,bitten blow:blew,blown break:broke,broken bring:brought build:built burn:burnt
    buy:bought catch:caught choose:chose,chosen come:came dig:dug do:did,done,does draw:drew,drawn
    drink:drank,drunk drive:drove,driven eat:ate,eaten fall:fell,fallen feed:fed feel:felt
    fight:fought find:found flee:fled fly:flew,flown,flies forbid:forbade,forbidden
    forget:forgot,forgotten forgive:forgave,forgiven freeze:froze,frozen get:got,gotten
    give:gave,given go:went,gone,goes grow:grew,grown hang:hung have:has,had hear:heard
    hide:hid,hidden hold:held keep:kept know:knew,known lay:laid lead:led leave:left lend:lent
    lie:lay,lain lose:lost make:made mean:meant meet:met pay:paid ride:rode,ridden ring:rang,rung
    rise:rose,risen run:ran say:said see:saw,seen seek:sought sell:sold send:sent shake:shook,shaken
    shoot:shot show:shown shrink:shrank,shrunk sing:sang,sung sink:sank,sunk sit:sat sleep:slept
    speak:spoke,spoken spend:spent stand:stood steal:stole,stolen stick:stuck strike:struck
    swear:swore,sworn swim:swam,swum take:took,taken teach:taught tear:tore,torn tell:told
    think:thought throw:threw,thrown understand:understood wake:woke,woken wear:wore,worn
    weep:wept win:won withdraw:withdrew,withdrawn write:wrote,written
    child:children man:men woman:women person:people foot:feet tooth:teeth mouse:mice goose:geese
    good:better,best bad:worse,worst far:further,furthest
    """.split()
}


def _double(word: str) -> bool:
    """Whether a final consonant doubles before -ed/-ing/-er (stop -> stopped): a short word
    ending consonant-vowel-consonant."""
    return (
        len(word) >= 3
        and vowel_count(word) == 1
        and word[-1] not in "aeiouwxy"
        and word[-2] in VOWELS
        and word[-3] not in VOWELS
    )


def _regular_en(base: str) -> list[tuple[str, str]]:
    """Regular inflections of ``base`` with English spelling, each with its ending."""
    if not base.isalpha() or len(base) < 2:
        return [(base + "s", "s")]
    out: list[tuple[str, str]] = []
    if base.endswith(("s", "x", "z", "ch", "sh")):
        out.append((base + "es", "s"))
    elif base[-1] == "y" and base[-2] not in VOWELS:
        out.append((base[:-1] + "ies", "s"))
    else:
        out.append((base + "s", "s"))
    if base.endswith("is"):
        out.append((base[:-2] + "es", "s"))  # analysis -> analyses
    if base.endswith("o"):
        out.append((base + "es", "s"))  # embargoes, heroes (and the -s of photos)
    if base[-1] == "e":
        out += [(base + "d", "ed"), (base[:-1] + "ing", "ing"), (base + "r", "er")]
        out += [(base + "st", "est")]
        if base.endswith(("ee", "ye", "oe")):
            out.append((base + "ing", "ing"))
    elif base[-1] == "y" and base[-2] not in VOWELS:
        stem = base[:-1]
        out += [(stem + "ied", "ed"), (base + "ing", "ing"), (stem + "ier", "er")]
        out += [(stem + "iest", "est")]
    else:
        for stem in [base, base + base[-1]] if _double(base) else [base]:
            out += [(stem + "ed", "ed"), (stem + "ing", "ing"), (stem + "er", "er")]
            out += [(stem + "est", "est")]
    return out


def _comparative(form: str, base: str, lemma_of: Mapping[str, str]) -> bool:
    """Whether ``form`` is a comparative the dictionary files as a word of its own (bigger,
    hotter) while it knows the superlative of the same stem as ``base``'s (biggest -> big):
    banner stays out, as bannest is no word."""
    return form.endswith("er") and lemma_of.get(form[:-2] + "est") == base


def _agent_nouns(base: str) -> list[str]:
    """Candidate agent nouns (protest -> protester, invest -> investor), without doubling."""
    if not base.isalpha() or len(base) < 4:
        return []
    if base[-1] == "e":
        return [base + "r", base[:-1] + "or"]
    return [base + "er", base + "or"]


def _same_porter_stem(a: str, b: str) -> bool:
    found = stemmer("en")
    assert found is not None
    first, second = found.stemWords([a, b])
    return bool(first == second)


def english_forms(
    word: str, lemma_of: Mapping[str, str], overrides: WordOverrides = NO_OVERRIDES
) -> dict[str, str]:
    """The article words an English rule word finds: form -> how it is built ("word",
    "inflection", "agent noun"); ``lemma_of`` is a lemma dictionary (word -> lemma)."""
    keep = overrides.keep
    found = {word: "word"}
    if word in keep or not word.isalpha():
        return found
    base = word
    lemma = lemma_of.get(word)
    if lemma and lemma != word and _regular_en(lemma)[0][0] == word:
        base = lemma  # a plural in a rule stands for its noun: sanctions -> sanction
        found[base] = "inflection"
    irregular = IRREGULAR_EN.get(base, ())
    for form in irregular:
        if form not in keep:
            found.setdefault(form, "inflection")
    for form, ending in _regular_en(base):
        if form == base or form in keep or form in found:
            continue
        # what the dictionary knows decides (united is unite's, news is a word of its own);
        # a form it does not know counts only as a plural (of a name, a new word)
        known = lemma_of.get(form)
        if known == base or (known is None and ending == "s") or _comparative(form, base, lemma_of):
            found[form] = "inflection"
    for agent in _agent_nouns(base):
        # a real word (the dictionary knows it) that keeps the verb's stem: Porter's measure
        # strips -er only after a long enough stem, so protester -> protest but never
        # former -> form, shower -> show; -or only after six letters (investor, not factor)
        if lemma_of.get(agent) != agent or agent in keep:
            continue
        if agent.endswith("er") and not _same_porter_stem(agent, base):
            continue
        if agent.endswith("or") and len(base) < 6:
            continue
        found.setdefault(agent, "agent noun")
        found.setdefault(_regular_en(agent)[0][0], "agent noun")
    return found


def english_lemmas() -> Mapping[str, str]:
    """simplemma's English lemma dictionary (word -> lemma; 170,000 forms). It holds about
    24 MiB, so it is loaded when English families are compiled and then let go."""
    from simplemma.strategies.dictionaries.dictionary_factory import DefaultDictionaryFactory

    return DefaultDictionaryFactory(cache_max_size=0).get_dictionary("en")


# The forms of the rule words seen last, so that a small rule set compiled again (a reload, a
# test) does not load the dictionary again; bounded, a few hundred bytes a word.
_ENGLISH_RECENT: OrderedDict[tuple[str, WordOverrides], tuple[str, ...]] = OrderedDict()
MAX_ENGLISH_RECENT = 4096


def english_keys(words: Sequence[str], overrides: WordOverrides) -> list[tuple[str, ...]]:
    """The English forms of each rule word; the dictionary is let go when they are made."""
    recent = _ENGLISH_RECENT
    missing = [w for w in dict.fromkeys(words) if (w, overrides) not in recent]
    made = {}
    if missing:
        lemmas = english_lemmas()
        made = {w: tuple(english_forms(w, lemmas, overrides)) for w in missing}
        del lemmas
    out = []
    for word in words:
        key = (word, overrides)
        forms = made.get(word) or recent[key]
        recent[key] = forms
        recent.move_to_end(key)
        out.append(forms)
    while len(recent) > MAX_ENGLISH_RECENT:
        recent.popitem(last=False)
    return out
