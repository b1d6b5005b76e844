"""Article pages as news sites serve them: a heavy head, navigation, the article, a related-links
box ("Berita terkait") that mentions other topics, comments and a footer; 50 to 300 KB.

The article body is the seed article's; what surrounds it is built to be dropped.
"""

from __future__ import annotations

import html
import random
from pathlib import Path

SEED = (Path(__file__).parent / "data" / "seed-article.txt").read_text(encoding="utf-8")
SEED_TITLE = SEED.splitlines()[0]
SEED_BODY = SEED.split("Berita terkait")[0].split("\n\n", 2)[2].strip()
RELATED = [
    ("Nobel Alternatif untuk Belarus, Nikaragua, AS, dan Iran", "Sebuah yayasan di Stockholm"),
    ("Timnas Sepak Bola Menang Tipis atas Malaysia", "Pertandingan piala dunia kualifikasi"),
    ("Harga Cabai Rawit Naik Jelang Akhir Pekan", "Pasokan dari petani berkurang"),
    ("Embargo Minyak Dibahas di Jenewa", "Para menteri membahas embargo baru"),
]


def _filler(rng: random.Random, size: int) -> str:
    """Script and style weight, as trackers and frameworks add it."""
    chunks = []
    while sum(map(len, chunks)) < size:
        name = "".join(rng.choice("abcdefghijklmnop") for _ in range(8))
        chunks.append(
            f"window.__{name}=function(a,b){{return (a||0)+(b||{rng.randint(1, 99)})}};\n"
        )
    return "".join(chunks)


def article_page(
    title: str = SEED_TITLE,
    body: str = SEED_BODY,
    *,
    weight: int = 120_000,
    seed: int = 1,
    related: bool = True,
) -> str:
    """One article page of about ``weight`` bytes around ``body`` (paragraphs: blank lines)."""
    rng = random.Random(seed)
    nav = "".join(f'<li><a href="/kanal/{i}">Kanal {i} berita daerah</a></li>' for i in range(60))
    paragraphs = "".join(f"<p>{html.escape(p)}</p>\n" for p in body.split("\n\n") if p.strip())
    boxes = ""
    if related:
        items = "".join(
            f'<li><a href="/berita/{i}"><h4>{html.escape(t)}</h4><p>{html.escape(s)}</p></a></li>'
            for i, (t, s) in enumerate(RELATED)
        )
        boxes = f'<aside class="related"><h3>Berita terkait</h3><ul>{items}</ul></aside>'
    footer_links = "".join(f'<a href="/tentang/{i}">Tautan {i}</a> ' for i in range(40))
    page = f"""<!DOCTYPE html>
<html lang="id"><head><meta charset="utf-8">
<title>{html.escape(title)} | Berita Contoh</title>
<meta property="og:title" content="{html.escape(title)}">
<style>{"body{{margin:0}} .x{{color:#333}} " * 40}</style>
<script>{_filler(rng, weight // 2)}</script>
</head><body>
<header><div class="logo">Berita Contoh</div><nav><ul>{nav}</ul></nav>
<form action="/cari"><input name="q" placeholder="Cari berita"></form></header>
<main><article>
<h1>{html.escape(title)}</h1>
<div class="meta">Redaksi - Minggu, 25 Oktober 2020 09:30 WIB</div>
<figure><img src="/foto/1.jpg" alt=""><figcaption>Foto: Reuters</figcaption></figure>
<div class="article-body">
{paragraphs}</div>
<div class="tags">Tag: <a href="/tag/belarus">belarus</a> <a href="/tag/rusia">rusia</a></div>
</article>
{boxes}
<section class="comments"><h3>Komentar</h3><p>Belum ada komentar.</p></section>
</main>
<footer><p>Copyright 2020 Berita Contoh. Semua hak dilindungi.</p>{footer_links}</footer>
<script>{_filler(rng, max(0, weight - weight // 2 - 12_000))}</script>
</body></html>"""
    return page
