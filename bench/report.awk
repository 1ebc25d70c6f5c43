# Turns one whole-system results file (bench/lib.sh: scenario target param rep metric value, tab
# separated) into Markdown tables. Used by bench/report; any awk (mawk included).
#
# Variables (-v):
#   metrics  comma-separated metrics for the figures table, each "name:Label", e.g.
#            "req_s:req/s,p99_ms:p99 ms"
#   ratios   ";"-separated ratio specs "num|suffix|den|metric|goal|label": for each param P the
#            denominator target has, num at param P+suffix over den at P, per repetition (the two
#            ran in the same repetition, one after the other), then median and range. For a metric
#            where less is better (names ending in _s for seconds or _ms), the ratio is den/num,
#            so above 1 always means "num is faster". goal: a minimum ratio, or "" for none
#   absolute ";"-separated "target|param-contains|metric|op|limit|label" goals on a figure, op one
#            of <, <=, >, >=
#   what     "figures" (or "run": the same, for a table of run metadata), "ratios" or "absolute"
#   targets  figures and run only: comma-separated targets to show (all when empty)
#   skip     figures and run only: comma-separated targets to leave out (run metadata such as "machine")
#   unavailable_note  what to print where a target was not measured

function fmt(x,    s, neg, i, out, intpart, frac) {
  if (x == "") return "—"
  x += 0
  if (x >= 1000 || x <= -1000) {
    s = sprintf("%.0f", x)
    neg = substr(s, 1, 1) == "-"
    if (neg) s = substr(s, 2)
    out = ""
    while (length(s) > 3) { out = "," substr(s, length(s) - 2) out; s = substr(s, 1, length(s) - 3) }
    return (neg ? "-" : "") s out
  }
  if (x >= 100 || x <= -100) return sprintf("%.0f", x)
  if (x >= 10 || x <= -10) return sprintf("%.1f", x)
  if (x >= 1 || x <= -1) return sprintf("%.2f", x)
  return sprintf("%.3g", x)
}

# Sorts the n values in a[1..n] (insertion sort: there are a handful).
function sort_values(a, n,    i, j, t) {
  for (i = 2; i <= n; i++) {
    t = a[i]
    for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]
    a[j + 1] = t
  }
}

function median(a, n) {
  if (n == 0) return ""
  sort_values(a, n)
  return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}

# "median (min–max)" of the repetitions of (t, p, m), or "—".
function cell(t, p, m,    a, n, r, key) {
  n = 0
  for (r = 1; r <= maxrep; r++) {
    key = t SUBSEP p SUBSEP m SUBSEP r
    if (key in v) a[++n] = v[key]
  }
  if (n == 0) return unavailable_target(t) ? "not measured" : "—"
  med = median(a, n)
  if (n == 1) return fmt(med)
  return fmt(med) " (" fmt(a[1]) "–" fmt(a[n]) ")"
}

# A target was not measured because this build lacks it: recorded as such, or an oranc-* target
# when the oranc server itself was unavailable.
function unavailable_target(t) {
  return (t in unavailable) || (t ~ /^oranc-/ && ("oranc" in unavailable) && !(t in tseen_data))
}

# Seconds and milliseconds: less is better. Rates (req_s, mb_s, paths_s, nar_mb_s): more is.
function lower_is_better(m) {
  return m == "seconds" || m ~ /_ms$/ || (m ~ /_s$/ && m !~ /^(req|mb|nar_mb|paths)_s$/)
}

function shown_op(op) { return op == "<=" ? "≤" : op == ">=" ? "≥" : op }

BEGIN { FS = "\t" }

NF >= 6 {
  t = $2; p = $3; r = $4; m = $5
  if (m == "unavailable") { unavailable[t] = 1; if (!(t in tseen)) { tseen[t] = 1; torder[++nt] = t }; next }
  v[t, p, m, r] = $6
  tseen_data[t] = 1
  if (r + 0 > maxrep) maxrep = r + 0
  if (!(t in tseen)) { tseen[t] = 1; torder[++nt] = t }
  if (!(p in pseen)) { pseen[p] = 1; porder[++np] = p }
  has[t, p] = 1
}

END {
  if (what == "figures" || what == "run") {
    nk = split(skip, ks, ",")
    for (i = 1; i <= nk; i++) skipped[ks[i]] = 1
    nk = split(targets, ks, ",")
    for (i = 1; i <= nk; i++) wanted[ks[i]] = 1
    nm = split(metrics, ms, ",")
    line = "| | |"; sep = "|---|---|"
    for (i = 1; i <= nm; i++) { split(ms[i], kv, ":"); line = line " " kv[2] " |"; sep = sep "---:|" }
    print "| parameters | target" substr(line, 4)
    print sep
    for (i = 1; i <= np; i++) {
      for (j = 1; j <= nt; j++) {
        t = torder[j]; p = porder[i]
        if (!((t, p) in has) || (t in skipped) || (nk > 0 && !(t in wanted))) continue
        line = "| " p " | " t " |"
        for (k = 1; k <= nm; k++) { split(ms[k], kv, ":"); line = line " " cell(t, p, kv[1]) " |" }
        print line
      }
    }
    for (j = 1; j <= nt; j++) if ((torder[j] in unavailable) && !(torder[j] in skipped) && (nk == 0 || (torder[j] in wanted)))
      print "| — | " torder[j] " |" (nm > 0 ? " " unavailable_note " |" : "")
  }
  if (what == "ratios") {
    print "| parameters | ratio | median (min–max) over repetitions | goal | |"
    print "|---|---|---:|---:|---|"
    nr = split(ratios, rs, ";")
    for (i = 1; i <= nr; i++) {
      split(rs[i], f, "|")
      num = f[1]; suffix = f[2]; den = f[3]; m = f[4]; goal = f[5]; label = f[6]
      shown = 0
      for (j = 1; j <= np; j++) {
        p = porder[j]
        if (!((den, p) in has)) continue
        n = 0
        for (r = 1; r <= maxrep; r++) {
          a1 = num SUBSEP (p suffix) SUBSEP m SUBSEP r; b1 = den SUBSEP p SUBSEP m SUBSEP r
          if ((a1 in v) && (b1 in v) && v[a1] > 0 && v[b1] > 0)
            x[++n] = lower_is_better(m) ? v[b1] / v[a1] : v[a1] / v[b1]
        }
        if (n == 0) {
          fig = unavailable_target(num) ? unavailable_note : "—"
          verdict = ""
        } else {
          med = median(x, n)
          fig = n == 1 ? fmt(med) : fmt(med) " (" fmt(x[1]) "–" fmt(x[n]) ")"
          verdict = goal == "" ? "" : (med >= goal ? "met" : "**missed**")
        }
        print "| " p suffix " | " label " | " fig " | " (goal == "" ? "—" : "≥ " goal) " | " verdict " |"
        shown = 1
        delete x
      }
      if (!shown) print "| — | " label " | " (unavailable_target(num) ? unavailable_note : "—") " | " (goal == "" ? "—" : "≥ " goal) " | |"
    }
  }
  if (what == "absolute") {
    print "| parameters | figure | median (min–max) | goal | |"
    print "|---|---|---:|---:|---|"
    na = split(absolute, as, ";")
    for (i = 1; i <= na; i++) {
      split(as[i], f, "|")
      t = f[1]; contains = f[2]; m = f[3]; op = f[4]; limit = f[5]; label = f[6]
      shown = 0
      for (j = 1; j <= np; j++) {
        p = porder[j]
        if (!((t, p) in has) || !index(p, contains)) continue
        n = 0
        for (r = 1; r <= maxrep; r++) if ((t, p, m, r) in v) x[++n] = v[t, p, m, r]
        if (n == 0) continue
        med = median(x, n)
        ok = op == "<" ? med < limit : op == "<=" ? med <= limit + 0 : op == ">=" ? med >= limit + 0 : med > limit
        verdict = ok ? "met" : "**missed**"
        print "| " p " | " label " | " cell(t, p, m) " | " shown_op(op) " " limit " | " verdict " |"
        shown = 1
        delete x
      }
      if (!shown) print "| — | " label " | " (unavailable_target(t) ? unavailable_note : "—") " | " shown_op(op) " " limit " | |"
    }
  }
}
