#!/usr/bin/env bash
# End-to-end (issue #19): `bpgate scan` on a blueprint with one syntax error
# gives exactly the findings of its repaired copy (same file name, so the
# fingerprints compare too), and the low-code webhook families are reported
# from a real file on disk, masked.
. "$(dirname "$0")/lib.sh"

cat > good.json <<'JSON'
{
  "name": "Notify team",
  "flow": [
    {
      "id": 1,
      "module": "http:ActionSendData",
      "mapper": {
        "url": "https://discord.com/api/webhooks/812034918203941234/Zq8-HKEo1lK2bYpX0aZfN2m3Qw9sT4vUa7cDeFgHiJkLmNoPqRsTuVwXyZ0123456789ab",
        "headers": [
          {"name": "Authorization", "value": "Bearer 9f2b1c7d3e4a4b5c8d6e7f8091a2b3c4"}
        ],
        "contactName": "Oluwaseun Adebayo"
      }
    }
  ]
}
JSON
# the same with a trailing comma after the header and after the last mapper member
sed -e 's/c3c4"}$/c3c4"},/' -e 's/Adebayo"$/Adebayo",/' good.json > broken.json
if cmp -s good.json broken.json; then fail "the broken copy differs"; else ok "the broken copy differs"; fi

mkdir -p a b
cp good.json a/bp.json
cp broken.json b/bp.json
(cd a && bpgate scan --format json bp.json > ../good.out) || true
(cd b && bpgate scan --format json bp.json > ../broken.out) || true
expect_grep good.out '"rule":"DISCORD_WEBHOOK_URL"' "the Discord webhook is found"
expect_grep good.out '"pointer":"/flow/0/mapper/headers/0/value"' "the bearer token is found in its header"
expect_grep good.out '"rule":"PERSON_NAME"' "the contact name is found"
if cmp -s good.out broken.out; then ok "one bad comma: the same findings as the repaired file"; else
  fail "one bad comma changes the findings"; diff good.out broken.out | head -20; fi
if grep -q 'Zq8-HKEo1lK2bYpX0aZfN2m3Qw9sT4vUa7cDeFgHiJkLmNoPqRsTuVwXyZ0123456789ab' good.out; then
  fail "the webhook token is printed whole"; else ok "the webhook token is masked"; fi
expect_exit 1 "findings exit 1" -- bpgate scan b/bp.json
finish
