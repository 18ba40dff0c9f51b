# scripts/fault-table.awk: the fault matrices' rows (control/faults_test.go's
# log lines, "case | frames ... | ...") as one markdown table, each
# transport and sender under each fault, from the tests' logs
# (scripts/bench-faults.sh). Each matrix's header names them: "case (SRT, glassagent)".
BEGIN {
  FS = " \\| "
  print "| transport | sender | fault | frames sent during it that arrived intact | longest freeze | video target down after | send rate back to 90 % after | frames again after | latency p50/p95 ms before / during / after |"
  print "|---|---|---|---|---|---|---|---|---|"
}
$1 ~ /^ *case \(/ {
  cur = $1; sub(/^ *case \(/, "", cur); sub(/\)$/, "", cur)
  n = split(cur, part, ", ")
  transport = part[1]; sender = part[2]
  if (transport == "SRT") transport = "SRT (200 ms)"
  next
}
$1 ~ /^ *case$/ { cur = ""; next } # a header without its label
cur != "" && NF >= 10 {
  name = $1; sub(/^ +/, "", name)
  if (name ~ /^none/) next
  intact = "-"
  if (match($2, /intact [0-9.]+%/)) intact = substr($2, RSTART + 7, RLENGTH - 7)
  else if ($2 ~ /^0 arrived/) intact = "0%"
  sub(/%$/, " %", intact)
  row[transport] = row[transport] "| " transport " | " sender " | " name " | " intact " | " $4 " | " $7 " | " $8 " | " ($10 == "-" ? "never" : $10) " | " $6 " |\n"
}
# By transport, glassagent's rows and then ffmpeg's (the order the tests
# ran in): glassagent beside ffmpeg.
END {
  split("SRT (200 ms)|RTMP|WHIP", order, "|")
  for (i = 1; i <= 3; i++) printf "%s", row[order[i]]
}
