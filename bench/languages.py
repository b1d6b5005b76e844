"""Benchmark: which language identifier reads news titles and texts right, and how fast.

Compares CLD2 (pycld2, what newsmon uses: raw, and through :func:`detect_language`, which
abstains on unclear or short texts) with py3langid (a bench-only dependency: the ``bench``
extra) on hand-made samples of the news newsmon reads: Indonesian titles and leads, English
ones, and Malay (which counts as Indonesian for matching). A sample's answer is right when it
is the sample's language (ms and id count as one), wrong when it is another language, and an
abstention (None) counts apart: a wrong answer overrules a feed's declaration, an abstention
leaves it standing.

    python bench/languages.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable

import pycld2

from monitor.stages.rules.language import detect_language, same_language

SAMPLES: list[tuple[str, str]] = [
    ("id", "Pejabat Disanksi karena Melanggar Aturan"),
    ("id", "Sanksinya berupa penurunan pangkat selama tiga tahun, kata juru bicara kementerian."),
    ("id", "Harga Cabai Naik Jelang Lebaran"),
    ("id", "Warga dapat bantuan sosial dari pemerintah"),
    ("id", "Pendapatan negara naik 12 persen tahun ini"),
    ("id", "KPK Tangkap Bupati dalam Operasi Tangkap Tangan"),
    ("id", "Banjir Rendam Ribuan Rumah di Jakarta Utara"),
    ("id", "Presiden Minta Menteri Percepat Penyaluran Bansos"),
    ("id", "Apple Rilis iPhone Baru di Indonesia"),
    ("id", "Timnas Indonesia Menang 2-0 atas Vietnam"),
    ("id", "Gempa Magnitudo 5,2 Guncang Sulawesi Tengah, Tidak Berpotensi Tsunami"),
    ("id", "Polisi masih menyelidiki penyebab kebakaran yang menghanguskan pasar tradisional itu."),
    ("id", "Belarus dijatuhi sanksi baru oleh Uni Eropa setelah pemilu yang disengketakan."),
    ("id", "Pemerintah akan menaikkan harga bahan bakar minyak mulai bulan depan, kata menteri."),
    ("id", "Kasus korupsi dana desa terungkap setelah warga melapor ke kejaksaan negeri."),
    ("id", "DPR Sahkan RUU Perampasan Aset"),
    ("id", "Inflasi Oktober Terkendali, BI Tahan Suku Bunga"),
    ("id", "Ribuan buruh berunjuk rasa menolak kenaikan iuran jaminan kesehatan di depan gedung."),
    ("ms", "Kerajaan akan memperkenalkan cukai baharu pada tahun hadapan, kata menteri kewangan."),
    ("ms", "Polis menahan tiga lelaki berhubung kes rompakan di Johor Bahru"),
    ("ms", "Harga minyak sawit mentah meningkat minggu ini"),
    ("ms", "Perdana Menteri mengumumkan bantuan tunai untuk isi rumah berpendapatan rendah."),
    ("en", "Protesters rally in Minsk"),
    ("en", "Thousands protested against the disputed election result on Sunday."),
    ("en", "EU imposes new sanctions on Belarus"),
    ("en", "Central bank holds interest rates steady as inflation eases"),
    ("en", "Floods displace thousands in northern Jakarta"),
    ("en", "Apple unveils new iPhone"),
    ("en", "Police are still investigating the cause of the fire that destroyed the market."),
    ("en", "The government will raise fuel prices next month, the minister said."),
    ("en", "Lawmakers pass asset forfeiture bill"),
    ("en", "Stocks fall as investors weigh trade tensions"),
    ("en", "A magnitude 5.2 earthquake struck Central Sulawesi; there is no tsunami threat."),
    ("en", "Indonesia beat Vietnam 2-0 in World Cup qualifier"),
    ("en", "Opposition leader arrested ahead of vote"),
    ("en", "Minsk Lukashenko Belarus"),
    ("en", "Workers rallied outside parliament to oppose higher health insurance contributions."),
    ("en", "Corruption case uncovered after villagers reported misuse of village funds."),
    ("en", "Jokowi orders ministers to speed up aid distribution"),
    ("en", "Palm oil prices rise this week on strong export demand"),
]


def cld2_raw(text: str) -> str | None:
    _, _, found = pycld2.detect(text)
    code = found[0][1]
    return None if code in ("un", "xxx") else code.split("-")[0]


def identifiers() -> dict[str, Callable[[str], str | None]]:
    found: dict[str, Callable[[str], str | None]] = {
        "pycld2 (newsmon's decision)": detect_language,
        "pycld2 (raw top language)": cld2_raw,
    }
    try:
        import py3langid
    except ImportError:
        print("py3langid is not installed: pip install -e '.[bench]'", file=sys.stderr)
        return found
    found["py3langid (classify)"] = lambda text: str(py3langid.classify(text)[0])
    return found


def score(identify: Callable[[str], str | None]) -> tuple[int, int, int, list[str]]:
    right = wrong = abstained = 0
    misses = []
    for language, text in SAMPLES:
        got = identify(text)
        if got is None:
            abstained += 1
        elif same_language(got, language):
            right += 1
        else:
            wrong += 1
            misses.append(f"{got}: {text[:50]}")
    return right, wrong, abstained, misses


def microseconds(identify: Callable[[str], str | None], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        for _, text in SAMPLES:
            identify(text)
        times.append((time.perf_counter() - started) / len(SAMPLES) * 1e6)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(f"{len(SAMPLES)} samples (id {sum(s[0] == 'id' for s in SAMPLES)}, ", end="")
    print(f"ms {sum(s[0] == 'ms' for s in SAMPLES)}, en {sum(s[0] == 'en' for s in SAMPLES)})")
    for name, identify in identifiers().items():
        identify(SAMPLES[0][1])  # load the model outside the timing
        right, wrong, abstained, misses = score(identify)
        speed = microseconds(identify, args.rounds)
        print(f"  {name:30} right {right:2}  wrong {wrong:2}  abstained {abstained:2}", end="")
        print(f"  {speed:7.1f} µs a sample (median of {args.rounds})")
        for miss in misses:
            print(f"      wrong -> {miss}")


if __name__ == "__main__":
    main()
