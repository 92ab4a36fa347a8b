#!/bin/bash
# A/B: base (30b5915) vs head, same session, alternating.
out=/tmp/ab.jsonl; : > $out
for b in http-fastify http-express http-nest-express http-nest-fastify core-append wal-commit; do
  case $b in core-append) a="--rounds 3 --round-ms 800 --seconds 2";; wal-commit) a="--rounds 3 --round-ms 700";; *) a="--rounds 3 --round-seconds 2";; esac
  for side in base head head base; do
    dir=/work/main; [ $side = base ] && dir=/work/wt-base
    line=$(cd $dir && timeout 300 node bench/$b.bench.mjs $a --json 2>/dev/null | tail -1)
    echo "{\"side\":\"$side\",\"bench\":\"$b\",\"r\":$line}" >> $out
  done
done
echo DONE >> $out
