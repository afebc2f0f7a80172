import json, sys
from collections import Counter
def load(p): return {j["id"]: j for j in map(json.loads, open(p))}
a = {}
for f in sys.argv[2:]: a.update(load(f))
b = load(sys.argv[1])
c = Counter()
for i, y in b.items():
    x = a[i]
    ra, rb = set(x["rescuing"]), set(y["rescuing"])
    c["tp"] += len(ra & rb); c["fp"] += len(rb - ra); c["fn"] += len(ra - rb)
    ca, cb = bool(x["crisis"]), bool(y["crisis"])
    c["ctp"] += ca and cb; c["cfp"] += cb and not ca; c["cfn"] += ca and not cb
    if ra and rb:
        c["tn"] += 1; c["tok"] += bool(set(x["topics"]) & set(y["topics"]))
f = lambda tp, fp, fn: 2*tp/(2*tp+fp+fn) if tp else 0
print(f"notes {len(b)}  rescuing items F1 {f(c['tp'],c['fp'],c['fn']):.3f}  crisis notes F1 {f(c['ctp'],c['cfp'],c['cfn']):.3f}  topic agreement {c['tok']}/{c['tn']}")
