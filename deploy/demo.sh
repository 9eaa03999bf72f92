#!/usr/bin/env bash
# The whole story, for real: a throw-away rxd, a clinic, two pharmacies and a
# patient; every step checks its outcome and the script fails loudly if one
# is not what it should be.  Usage: deploy/demo.sh BUILD_DIR (deploy/rx demo).
set -euo pipefail

build=$(cd "${1:?usage: demo.sh BUILD_DIR}" && pwd)
drugs_csv=$(cd "$(dirname "$0")" && pwd)/data/drugs-jp.csv
bin_rxd=$build/broker/rxd
keygen=$build/clients/rx-keygen
card_tool=$build/clients/rx-card
rxctl=$build/clients/rxctl
clinic=$build/clients/rx-clinic
pharmacy=$build/clients/rx-pharmacy
patient_tool=$build/clients/rx-patient

work=$(mktemp -d /tmp/rx-demo.XXXXXX)
data=$work/data
rxd_pid=
watch_pid=
cleanup() {
  [ -n "$watch_pid" ] && kill "$watch_pid" 2>/dev/null
  if [ -n "$rxd_pid" ] && kill -0 "$rxd_pid" 2>/dev/null; then
    kill "$rxd_pid"; wait "$rxd_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

step=0
say()  { step=$((step + 1)); printf '\n\033[1m%2d. %s\033[0m\n' "$step" "$*"; }
info() { printf '    %s\n' "$*"; }
die()  { printf '\nDEMO FAILED: %s\n' "$*" >&2; exit 1; }
# A string field of a compact JSON object (our CLIs print one per line).
field() { sed -n 's/.*"'"$1"'":"\([^"]*\)".*/\1/p' <<<"$2"; }

# run EXPECTED_EXIT CMD...: run a client, check its exit code, keep its JSON.
out=
run() {
  local want=$1 rc=0; shift
  out=$("$@" 2>/dev/null) || rc=$?
  [ "$rc" -eq "$want" ] || die "expected exit $want, got $rc from: ${*##*/}: $out"
}

start_rxd() {
  local listen=$1
  "$bin_rxd" --data "$data" --listen "$listen" 2>>"$work/rxd.log" &
  rxd_pid=$!
  for _ in $(seq 100); do
    [ -s "$data/rxd.endpoint" ] && [ -S "$data/admin.sock" ] && "$rxctl" --data "$data" stats >/dev/null 2>&1 && return 0
    kill -0 "$rxd_pid" 2>/dev/null || die "rxd exited; see its log: $(tail -3 "$work/rxd.log")"
    sleep 0.1
  done
  die "rxd did not become ready"
}

stop_rxd() {
  kill -TERM "$rxd_pid"
  wait "$rxd_pid" || die "rxd did not stop cleanly"
  rxd_pid=
}

say "Start the broker on a throw-away data dir"
rm -f "$data/rxd.endpoint"
start_rxd 'tcp://127.0.0.1:*'
broker=$(cat "$data/rxd.endpoint")
info "rxd pid $rxd_pid, listening on $broker, data in $data"
info "broker receipt key $(sed -n 's/.*broker_key=\([0-9a-f]*\).*/\1/p' "$work/rxd.log" | head -1)"

say "Make keys: a CurveZMQ key per institution, a signing key per prescriber and pharmacy"
sakura_curve=$("$keygen" --curve "$work/sakura.curve")
aozora_curve=$("$keygen" --curve "$work/aozora.curve")
midori_curve=$("$keygen" --curve "$work/midori.curve")
portal_curve=$("$keygen" --curve "$work/portal.curve")
doc=$("$keygen" "$work/sato.key")
aozora=$("$keygen" "$work/aozora.key")
midori=$("$keygen" "$work/midori.key")
info "Sakura Clinic   transport $sakura_curve, Dr. Sato signs with $doc"
info "Aozora Pharmacy transport $aozora_curve, signs with $aozora"
info "Midori Pharmacy transport $midori_curve, signs with $midori"
info "secret keys written mode $(stat -c %a "$work/sato.key"), never printed"

say "The operator registers the institutions and their keys"
"$rxctl" --data "$data" institution add --code 1312345678 --kind clinic --name "Sakura Clinic" --curve-key "$sakura_curve" >/dev/null
"$rxctl" --data "$data" institution add --code 1398765432 --kind pharmacy --name "Aozora Pharmacy" --curve-key "$aozora_curve" >/dev/null
"$rxctl" --data "$data" institution add --code 1311112222 --kind pharmacy --name "Midori Pharmacy" --curve-key "$midori_curve" >/dev/null
"$rxctl" --data "$data" institution add --code PORTAL --kind portal --name "Patient portal" --curve-key "$portal_curve" >/dev/null
"$rxctl" --data "$data" key add --role prescriber --institution 1312345678 --name "Dr. Sato" "$doc" >/dev/null
"$rxctl" --data "$data" key add --role pharmacy --institution 1398765432 --name "Aozora Pharmacy" "$aozora" >/dev/null
"$rxctl" --data "$data" key add --role pharmacy --institution 1311112222 --name "Midori Pharmacy" "$midori" >/dev/null
"$rxctl" --data "$data" institution list | sed 's/^/    /'
"$rxctl" --data "$data" key list | sed 's/^/    /'
# Every connection is CurveZMQ: the institution's key pair and rxd's public key.
sakura=(--broker "$broker" --curve-key "$work/sakura.curve" --server-key "$data/broker.curve.pub" --key "$work/sato.key")
at_aozora=(--broker "$broker" --curve-key "$work/aozora.curve" --server-key "$data/broker.curve.pub" --key "$work/aozora.key")
at_midori=(--broker "$broker" --curve-key "$work/midori.curve" --server-key "$data/broker.curve.pub" --key "$work/midori.key")

say "The operator loads the drug master: 301 real rows of Japan's NHI price list"
"$rxctl" --data "$data" drugs load "$drugs_csv" | sed 's/^/    /'
"$rxctl" --data "$data" drugs show 2149117F1025 | head -4 | sed 's/^/    /'
info "a combination tablet's ingredients are compared one by one, salts set aside"

say "Enroll the patient by My Number (read from stdin, so it is in no process list)"
rc=0; "$rxctl" --data "$data" patient enroll --my-number 123456789011 >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 2 ] || die "a My Number with a wrong check digit was not refused"
info "123456789011 refused: wrong check digit"
run 0 "$rxctl" --data "$data" --json patient enroll --my-number - <<<"123456789018"
patient=$(field patient_id "$out")
[ -n "$patient" ] || die "no patient id: $out"
info "patient id $patient: a keyed hash; the number itself is stored nowhere"

say "The patient's My Number Card is bound to her patient id"
card=$("$card_tool" new "$work/hanako.card")
"$rxctl" --data "$data" card enroll --patient "$patient" "$card" | sed 's/^/    /'
info "the card's key signs assertions as a card reader would: purpose, place, time, nonce"

say "Dr. Sato submits a signed prescription for the card in his reader (real NHI drug codes)"
cat >"$work/rx.json" <<JSON
{"valid_days": 4, "uses": 1,
 "items": [
  {"drug_code": "2171022F2025", "name": "ノルバスク錠５ｍｇ (amlodipine 5 mg)", "dose": "1 tablet",
   "usage": "once daily after breakfast", "days": 28, "quantity": 28, "unit": "tablet",
   "no_change": true},
  {"drug_code": "2189017F1022", "name": "クレストール錠２．５ｍｇ (rosuvastatin 2.5 mg)", "dose": "1 tablet",
   "usage": "once daily after dinner", "days": 28, "quantity": 28, "unit": "tablet"}],
 "notes": "Norvasc: no change (変更不可); rosuvastatin: a generic is fine"}
JSON
run 0 "$clinic" "${sakura[@]}" --card "$work/hanako.card" --institution 1312345678 \
  submit "$work/rx.json" --slip "$work/slip1.txt"
id=$(field id "$out")
[ "$(field patient_id "$out")" = "$patient" ] || die "filed under another patient: $out"
info "prescription $id is $(field state "$out") for the card's patient, valid until $(field valid_until "$out")"
info "receipt signed by the broker: $(field receipt_signature "$out" | cut -c1-32)..."
info "the slip with the access code went to a private file (mode $(stat -c %a "$work/slip1.txt")), not to the screen"

say "At Aozora Pharmacy the patient presents her card; the prescription is found and claimed"
aozora_card=(--card "$work/hanako.card" --institution 1398765432)
run 0 "$pharmacy" "${at_aozora[@]}" "${aozora_card[@]}" list
grep -q "\"$id\"" <<<"$out" || die "the prescription is not in the patient's list: $out"
info "open prescriptions for the card's patient: $id"
run 0 "$pharmacy" "${at_aozora[@]}" "${aozora_card[@]}" claim "$id"
claim=$(field claim "$out")
info "claimed; state $(field state "$out"), claim token kept by the pharmacy"

say "Midori Pharmacy tries to claim the same prescription"
run 2 "$pharmacy" "${at_midori[@]}" --card "$work/hanako.card" --institution 1311112222 claim "$id"
[ "$(field status "$out")" = ALREADY_CLAIMED ] && [ "$(field id "$out")" = "$id" ] ||
  die "expected ALREADY_CLAIMED for $id: $out"
info "refused: $(field status "$out") ($(field message "$out"))"

say "Aozora Pharmacy hands over generics: not for Norvasc, which Dr. Sato marked no change"
generic() { # item drug_code name: a substituted line for the record file
  printf '{"item": %s, "outcome": "substituted", "reason": "generic", "handed": {"drug_code": "%s", "name": "%s", "dose": "1 tablet", "unit": "tablet", "usage": "as prescribed", "days": 28, "quantity": 28}}' "$1" "$2" "$3"
}
cat >"$work/both-generic.json" <<JSON
{"lines": [$(generic 1 2171022F5067 "アムロジピン錠１０ｍｇ「ツルハラ」 (half a tablet)"),
           $(generic 2 2189017F1111 "ロスバスタチン錠２．５ｍｇ「科研」")]}
JSON
run 2 "$pharmacy" "${at_aozora[@]}" dispense "$id" --claim "$claim" "$work/both-generic.json"
[ "$(field status "$out")" = SUBSTITUTION_NOT_ALLOWED ] || die "expected SUBSTITUTION_NOT_ALLOWED: $out"
info "refused: $(field status "$out") ($(field message "$out")); nothing was recorded"
cat >"$work/record.json" <<JSON
{"lines": [{"item": 1, "outcome": "as_written"},
           $(generic 2 2189017F1111 "ロスバスタチン錠２．５ｍｇ「科研」")],
 "notes": "rosuvastatin generic (後発医薬品への変更)"}
JSON
say "Aozora Pharmacy dispenses it: Norvasc as written, rosuvastatin's generic (a signed dispense record)"
run 0 "$pharmacy" "${at_aozora[@]}" dispense "$id" --claim "$claim" "$work/record.json"
[ "$(field state "$out")" = DISPENSED ] || die "expected DISPENSED: $out"
info "state $(field state "$out"), use $(sed -n 's/.*"use":\([0-9]*\).*/\1/p' <<<"$out") of 1"
run 0 "$clinic" "${sakura[@]}" status "$id"
grep -q '"outcome":"substituted"' <<<"$out" && grep -q '2189017F1111' <<<"$out" ||
  die "Dr. Sato does not see the substitution: $out"
info "Dr. Sato's status shows both sides: item 2 prescribed 2189017F1022, handed 2189017F1111 (generic)"

say "Aozora Pharmacy finds it recorded the wrong maker's generic and amends its record the same day"
cat >"$work/amended.json" <<JSON
{"lines": [{"item": 1, "outcome": "as_written"},
           $(generic 2 2189017F1014 "ロスバスタチンカルシウム２．５ｍｇ錠")],
 "notes": "amended: the generic handed over was 2189017F1014"}
JSON
run 0 "$pharmacy" "${at_aozora[@]}" amend "$id" "$work/amended.json"
[ "$(field state "$out")" = DISPENSED ] || die "expected DISPENSED after the amend: $out"
run 0 "$clinic" "${sakura[@]}" status "$id"
grep -q '"superseded":true' <<<"$out" && grep -q '2189017F1014' <<<"$out" ||
  die "the amended record is not shown with the one it replaced: $out"
info "two signed records of use 1: the first kept, marked superseded; the amended one current"

say "A second dispense of the same prescription"
run 2 "$pharmacy" "${at_aozora[@]}" dispense "$id" --claim "$claim"
[ "$(field status "$out")" = ALREADY_DISPENSED ] || die "expected ALREADY_DISPENSED: $out"
info "refused: $(field status "$out")"

say "A second prescription; this time her son collects it at Midori Pharmacy with the slip"
cat >"$work/rx2.json" <<JSON
{"valid_days": 4, "uses": 1,
 "items": [
  {"drug_code": "2325003F1024", "name": "ガスター錠１０ｍｇ (famotidine 10 mg)", "dose": "1 tablet",
   "usage": "twice daily after breakfast and dinner", "days": 14, "quantity": 28, "unit": "tablet"}],
 "notes": "for the son to collect"}
JSON
run 0 "$clinic" "${sakura[@]}" --card "$work/hanako.card" --institution 1312345678 \
  submit "$work/rx2.json" --slip "$work/slip2.txt"
id2=$(field id "$out")
sed 's/^/    | /' "$work/slip2.txt" | sed 's/\(access code *\).*/\1(printed on the slip; not shown here)/'
code2=$(sed -n 's/.*access code *//p' "$work/slip2.txt")
run 2 "$pharmacy" "${at_midori[@]}" --access-code ABCD-EFGH-JK5 claim "$id2"
info "a misread code: $(field status "$out") ($(field message "$out")); five wrong codes lock it"
run 0 "$pharmacy" "${at_midori[@]}" --access-code - list "$id2" <<<"$code2"
grep -q "\"$id2\"" <<<"$out" || die "the access code did not find $id2: $out"
run 0 "$pharmacy" "${at_midori[@]}" --access-code - claim "$id2" <<<"$code2"
claim2=$(field claim "$out")
run 0 "$pharmacy" "${at_midori[@]}" dispense "$id2" --claim "$claim2"
info "id and access code read from the slip: claimed and $(field state "$out") without the card"

say "Dr. Sato prescribes metformin and valsartan; Aozora Pharmacy has only 30 metformin tablets in stock"
cat >"$work/rx6.json" <<JSON
{"valid_days": 4, "uses": 1,
 "items": [
  {"drug_code": "3962002F2027", "name": "メトグルコ錠２５０ｍｇ (metformin 250 mg)", "dose": "1 tablet",
   "usage": "three times daily after meals", "days": 28, "quantity": 84, "unit": "tablet"},
  {"drug_code": "2149041F3023", "name": "ディオバン錠８０ｍｇ (valsartan 80 mg)", "dose": "1 tablet",
   "usage": "once daily after breakfast", "days": 28, "quantity": 28, "unit": "tablet"}]}
JSON
run 0 "$clinic" "${sakura[@]}" --card "$work/hanako.card" --institution 1312345678 submit "$work/rx6.json"
id6=$(field id "$out")
run 0 "$pharmacy" "${at_aozora[@]}" "${aozora_card[@]}" claim "$id6"
claim6=$(field claim "$out")
run 0 "$pharmacy" "${at_aozora[@]}" dispense "$id6" --claim "$claim6" --part 1 --owe 1=30 \
  --notes "metformin: 30 today, the rest when it arrives"
[ "$(field state "$out")" = PARTIALLY_DISPENSED ] || die "expected PARTIALLY_DISPENSED: $out"
info "part 1: valsartan in full, 30 of 84 metformin (out of stock); state $(field state "$out")"
info "still owed: $(grep -o '"owed":\[[^]]*\]' <<<"$out")"

say "The status says what is owed; the claim stays with Aozora Pharmacy until it is handed over"
run 0 "$pharmacy" "${at_aozora[@]}" status "$id6" --body
grep -q '"owed":\[{"item":1,"drug_code":"3962002F2027","name":[^}]*"quantity":54,' <<<"$out" &&
  grep -q '"part":1,' <<<"$out" || die "the status does not show part 1 and the 54 tablets owed: $out"
info "state $(field state "$out"): 54 tablets of item 1 (3962002F2027) owed, nothing of item 2"
run 2 "$pharmacy" "${at_aozora[@]}" release "$id6" --claim "$claim6"
[ "$(field status "$out")" = PARTLY_DISPENSED ] || die "expected PARTLY_DISPENSED: $out"
info "release refused: $(field status "$out") ($(field message "$out"))"

say "The next day the metformin arrives: part 2 hands over the 54 owed and completes the use"
run 0 "$pharmacy" "${at_aozora[@]}" dispense "$id6" --claim "$claim6" --part 2
[ "$(field state "$out")" = DISPENSED ] || die "expected DISPENSED after part 2: $out"
info "part 2 names only the item still owed; state $(field state "$out")"
run 2 "$pharmacy" "${at_aozora[@]}" dispense "$id6" --claim "$claim6" --part 2
[ "$(field status "$out")" = ALREADY_DISPENSED ] || die "a part sent again was not refused: $out"
info "part 2 sent again (a lost reply, say): $(field status "$out"), never a third part"
run 0 "$clinic" "${sakura[@]}" status "$id6"
grep -q '"part":1,' <<<"$out" && grep -q '"part":2,' <<<"$out" && ! grep -q '"owed"' <<<"$out" ||
  die "Dr. Sato does not see both parts: $out"
info "Dr. Sato sees both parts: item 1 partial (30, out of stock), then as written (54)"

say "Dr. Sato prescribes bisoprolol 5 mg; the pharmacist asks him about the dose (疑義照会)"
cat >"$work/rx7.json" <<JSON
{"valid_days": 4, "uses": 1,
 "items": [
  {"drug_code": "2123016F2189", "name": "メインテート錠５ｍｇ (bisoprolol 5 mg)", "dose": "1 tablet",
   "usage": "once daily after breakfast", "days": 14, "quantity": 14, "unit": "tablet"}]}
JSON
run 0 "$clinic" "${sakura[@]}" --card "$work/hanako.card" --institution 1312345678 submit "$work/rx7.json"
id7=$(field id "$out")
run 0 "$pharmacy" "${at_aozora[@]}" "${aozora_card[@]}" claim "$id7"
claim7=$(field claim "$out")
bisoprolol_25='{"drug_code": "2123016F1107", "name": "メインテート錠２．５ｍｇ (bisoprolol 2.5 mg)", "dose": "1 tablet",
   "usage": "once daily after breakfast", "days": 14, "quantity": 14, "unit": "tablet"}'
cat >"$work/inquiry7.json" <<JSON
{"reason": "dose", "text": "Pulse 52/min at the counter; 5 mg may be too much. Start at 2.5 mg?",
 "proposed": [{"item": 1, "to": $bisoprolol_25}]}
JSON
run 0 "$pharmacy" "${at_aozora[@]}" inquire "$id7" --claim "$claim7" "$work/inquiry7.json"
grep -q '"inquiry":1,' <<<"$out" && grep -q '"inquiry_open":true' <<<"$out" || die "the inquiry is not open: $out"
info "inquiry 1 sent to Sakura Clinic; open until Dr. Sato answers"
run 2 "$pharmacy" "${at_aozora[@]}" dispense "$id7" --claim "$claim7"
[ "$(field status "$out")" = INQUIRY_PENDING ] || die "dispensed while the inquiry was open: $out"
info "dispense refused meanwhile: $(field status "$out")"
run 0 timeout 20 "$clinic" "${sakura[@]}" inquiries --count 1
grep -q "\"kind\":\"inquiry\"" <<<"$out" && grep -q "\"id\":\"$id7\"" <<<"$out" &&
  grep -q '"reason":"dose"' <<<"$out" && grep -q '"proposed":\[{"item":1,"to":{"drug_code":"2123016F1107"' <<<"$out" ||
  die "the clinic was not told of the inquiry: $out"
info "Sakura Clinic's notice: inquiry $(grep -o '"inquiry":[0-9]*' <<<"$out" | cut -d: -f2) on $id7, reason $(field reason "$out"): $(field text "$out")"
cat >"$work/answer7.json" <<JSON
{"agreed": [{"item": 1, "to": $bisoprolol_25}]}
JSON
run 0 "$clinic" "${sakura[@]}" answer "$id7" --inquiry 1 --accept "$work/answer7.json" --text "Agreed: 2.5 mg, see her in 2 weeks"
grep -q '"inquiry_open":false' <<<"$out" || die "the answer did not close the inquiry: $out"
info "Dr. Sato accepts 2.5 mg (a signed INQUIRY_REPLY)"
run 0 timeout 20 "$pharmacy" "${at_aozora[@]}" watch --count 1
grep -q '"kind":"inquiry_reply"' <<<"$out" && grep -q '"inquiry":1' <<<"$out" || die "the pharmacy was not told of the answer: $out"
info "Aozora Pharmacy's notice: $(field kind "$out") to inquiry 1 on $(field id "$out")"
cat >"$work/record7.json" <<JSON
{"inquiry": 1, "lines": [{"item": 1, "outcome": "substituted", "reason": "inquiry", "handed": $bisoprolol_25}]}
JSON
run 0 "$pharmacy" "${at_aozora[@]}" dispense "$id7" --claim "$claim7" "$work/record7.json"
[ "$(field state "$out")" = DISPENSED ] || die "the agreed dispense failed: $out"
info "Aozora Pharmacy hands over 2.5 mg tablets, citing inquiry 1; state $(field state "$out")"
run 0 "$clinic" "${sakura[@]}" status "$id7"
grep -q '"inquiries":\[{"number":1,' <<<"$out" && grep -q '"answer":{"answer":"accept"' <<<"$out" ||
  die "the status does not show the inquiry and its answer: $out"
info "the status keeps the question and the answer: $(grep -o '"answer":{"answer":"[a-z]*"' <<<"$out")"
# The prescriber is told what became of it: the clinic's watch prints its
# backlog (every dispense of its prescriptions so far) and is stopped.
run 124 timeout 3 "$clinic" "${sakura[@]}" watch
grep -q "\"kind\":\"dispensed\".*\"id\":\"$id7\"\|\"id\":\"$id7\".*\"kind\":\"dispensed\"" <<<"$out" ||
  die "the clinic was not told of the dispense: $out"
info "Sakura Clinic's watch: $(grep -c '"kind":"dispensed"' <<<"$out") dispenses of its prescriptions pushed, $id7's among them"

say "Dr. Sato prescribes a telmisartan/amlodipine combination tablet: she still has amlodipine"
cat >"$work/rx3.json" <<JSON
{"valid_days": 4, "uses": 1,
 "items": [
  {"drug_code": "2149117F1025", "name": "ミカムロ配合錠ＡＰ (telmisartan 40 mg / amlodipine 5 mg)", "dose": "1 tablet",
   "usage": "once daily after breakfast", "days": 28, "quantity": 28, "unit": "tablet"}],
 "notes": ""}
JSON
run 2 "$clinic" "${sakura[@]}" --card "$work/hanako.card" --institution 1312345678 submit "$work/rx3.json"
[ "$(field status "$out")" = DUPLICATE_MEDICATION ] || die "expected DUPLICATE_MEDICATION: $out"
grep -q '"kind":"DUPLICATE_INGREDIENT"' <<<"$out" && grep -q "\"other_prescription_id\":\"$id\"" <<<"$out" ||
  die "the refusal does not name the amlodipine dispensed under $id: $out"
info "refused: $(field status "$out"); the exchange found:"
grep -o '"warnings":\[.*\]' <<<"$out" | grep -o '"message":"[^"]*"' | sed 's/^"message":/      /'
run 0 "$clinic" "${sakura[@]}" --card "$work/hanako.card" --institution 1312345678 submit "$work/rx3.json" \
  --override "switching to the combination; stop Norvasc" --slip "$work/slip3.txt"
id3=$(field id "$out")
grep -q '"kind":"DUPLICATE_INGREDIENT"' <<<"$out" || die "the receipt lost the finding: $out"
info "resubmitted with an override reason: $id3 is $(field state "$out"); the signed receipt keeps the finding"
"$rxctl" --data "$data" rx show "$id3" | grep -o 'duplicate medication overridden[^|]*' | head -1 | sed 's/^/    audit: /'
run 0 "$pharmacy" "${at_aozora[@]}" "${aozora_card[@]}" claim "$id3"
grep -q '"kind":"DUPLICATE_INGREDIENT"' <<<"$out" || die "the claim carries no warning: $out"
info "Aozora Pharmacy claims it and is warned too (never refused): $(grep -o '"overlap_days":[0-9]*' <<<"$out" | head -1)"

say "The card is lost: the operator revokes it and enrolls the re-issued one"
"$rxctl" --data "$data" card revoke "$card" | sed 's/^/    /'
run 2 "$pharmacy" "${at_aozora[@]}" "${aozora_card[@]}" list
[ "$(field status "$out")" = CARD_REVOKED ] || die "a revoked card was accepted: $out"
info "the lost card: $(field status "$out")"
card2=$("$card_tool" new "$work/hanako2.card")
"$rxctl" --data "$data" card enroll --patient "$patient" "$card2" | sed 's/^/    /'
run 0 "$pharmacy" "${at_aozora[@]}" --card "$work/hanako2.card" --institution 1398765432 list
info "the new card works for the same patient id"

say "A pharmacy whose transport key was never registered cannot reach rxd at all"
"$keygen" --curve "$work/rogue.curve" >/dev/null
run 1 "$pharmacy" --broker "$broker" --curve-key "$work/rogue.curve" --server-key "$data/broker.curve.pub" \
  --key "$work/aozora.key" --timeout 2 status "$id"
info "$(field status "$out"): the CurveZMQ handshake is refused before any request is read"

say "The patient reads her own access log through the patient portal, with her card"
run 0 "$patient_tool" --broker "$broker" --curve-key "$work/portal.curve" --server-key "$data/broker.curve.pub" \
  --card "$work/hanako2.card" --institution PORTAL log
entries=$(grep -o '"action"' <<<"$out" | wc -l)
[ "$entries" -gt 5 ] || die "the patient's log is too short: $out"
info "$entries accesses to her prescriptions, each with who, when, what and how it ended, e.g.:"
grep -o '{"at":[^}]*CLAIM[^}]*}' <<<"$out" | head -2 | sed 's/^/      /'

say "She nominates Aozora Pharmacy; it is sent her next prescription, and told of its cancel"
run 0 "$patient_tool" --broker "$broker" --curve-key "$work/portal.curve" --server-key "$data/broker.curve.pub" \
  --card "$work/hanako2.card" --institution PORTAL nominate 1398765432
info "nominated: $(field nominated "$out")"
cat >"$work/rx4.json" <<JSON
{"valid_days": 4, "uses": 1,
 "items": [{"drug_code": "1149019F1560", "name": "ロキソニン錠６０ｍｇ (loxoprofen 60 mg)", "dose": "1 tablet",
   "usage": "three times daily after meals", "days": 5, "quantity": 15, "unit": "tablet"}]}
JSON
run 0 "$clinic" "${sakura[@]}" --card "$work/hanako2.card" --institution 1312345678 submit "$work/rx4.json"
id4=$(field id "$out")
# The pharmacy's feed starts after the submit: the notice waited for it.
"$pharmacy" "${at_aozora[@]}" watch --count 2 >"$work/notices.jsonl" 2>>"$work/watch.log" &
watch_pid=$!
for _ in $(seq 150); do grep -q '"kind":"new"' "$work/notices.jsonl" && break; sleep 0.1; done
grep -q "\"id\":\"$id4\"" "$work/notices.jsonl" || die "no notice of $id4: $(cat "$work/notices.jsonl")"
run 0 "$pharmacy" "${at_aozora[@]}" claim "$id4"
info "notice received, and claimed without the card: she nominated this pharmacy"
run 1 "$clinic" "${sakura[@]}" cancel "$id4"
info "a cancel says why: without --reason it is not sent"
run 0 "$clinic" "${sakura[@]}" cancel "$id4" --reason therapy_changed
for _ in $(seq 150); do grep -q '"kind":"cancel"' "$work/notices.jsonl" && break; sleep 0.1; done
grep -q '"kind":"cancel"' "$work/notices.jsonl" || die "no cancel notice: $(cat "$work/notices.jsonl")"
grep -q '"reason":"therapy_changed"' "$work/notices.jsonl" || die "the cancel notice lacks its reason: $(cat "$work/notices.jsonl")"
wait "$watch_pid" || die "rx-pharmacy watch failed: $(cat "$work/watch.log")"
watch_pid=
sed "s/^/    /" "$work/notices.jsonl" | cut -c1-190

say "The operator on call: audit chain, a prescription's history, today's report"
"$rxctl" --data "$data" audit verify | sed 's/^/    /'
"$rxctl" --data "$data" rx show "$id" | sed 's/^/    /' | cut -c1-150
"$rxctl" --data "$data" audit report --day "$(TZ=Asia/Tokyo date +%F)" | sed 's/^/    /'
"$rxctl" --data "$data" backup "$work/backup" | sed 's/^/    /'
[ -e "$work/backup/pseudonym.key" ] && die "the backup holds the pseudonym key unasked"
info "the backup holds no pseudonym key (it lives in $data-keys; rxctl backup --with-pseudonym-key copies it)"

say "Restart the broker (SIGTERM, then start again on the same data dir)"
stop_rxd
info "stopped"

say "Meanwhile the clinic submits through its outbox: the request waits there, signed"
cat >"$work/rx5.json" <<JSON
{"valid_days": 4, "uses": 1,
 "items": [{"drug_code": "1124009F1223", "name": "レンドルミン錠０．２５ｍｇ (brotizolam 0.25 mg)", "dose": "1 tablet",
   "usage": "at bedtime", "days": 14, "quantity": 14, "unit": "tablet"}],
 "notes": "written while the broker was down"}
JSON
run 1 "$clinic" "${sakura[@]}" --outbox "$work/outbox" --timeout 1 \
  --card "$work/hanako2.card" --institution 1312345678 submit "$work/rx5.json" --slip "$work/slip5.txt"
grep -q '"queued":true' <<<"$out" || die "not queued: $out"
info "$(field status "$out"), queued as outbox entry $(sed -n 's/.*"outbox":\([0-9]*\).*/\1/p' <<<"$out")"
info "accepted by rxd until $(field card_assertion_until "$out") (its card assertion); later the patient must present the card again"
run 0 "$clinic" --outbox "$work/outbox" pending
info "pending: $(grep -o '"pending":\[[^]]*\]' <<<"$out" | cut -c1-120)..."

start_rxd "$broker"
info "started again, pid $rxd_pid"
run 0 "$clinic" "${sakura[@]}" --outbox "$work/outbox" flush
grep -q '"op":"SUBMIT".*"status":"OK"\|"status":"OK".*"op":"SUBMIT"' <<<"$out" || die "the queued submit was not delivered: $out"
info "flushed: $(tail -1 <<<"$out")"
info "delivered once, as signed; its slip is in $(sed -n 's/.*"slip":"\([^"]*\)".*/\1/p' <<<"$out")"

say "The state survived"
run 0 "$clinic" "${sakura[@]}" status "$id"
[ "$(field state "$out")" = DISPENSED ] || die "state lost across restart: $out"
info "prescription $id is still $(field state "$out")"
"$rxctl" --data "$data" stats | sed 's/^/    /'

say "The broker's node dies (SIGKILL); the standby takes over the same data at another address"
kill -KILL "$rxd_pid"
wait "$rxd_pid" 2>/dev/null || true
info "rxd pid $rxd_pid killed: no clean stop, as when a node loses power"
# With DRBD (README "Operating two nodes") the standby mounts the replica of
# the data dir; here the survivor starts on the dir itself, elsewhere: on
# another loopback address, as a standby has an address of its own (on the
# first one the kernel may hand it the dead node's port again, and the two
# endpoints the pharmacy is given would be one).
rm -f "$data/rxd.endpoint"
start_rxd 'tcp://127.0.0.2:*'
broker2=$(cat "$data/rxd.endpoint")
info "the survivor, pid $rxd_pid, serves the same store on $broker2"
"$rxctl" --data "$data" health | sed 's/^/    /'
at_aozora_ha=(--broker "$broker,$broker2" --curve-key "$work/aozora.curve" --server-key "$data/broker.curve.pub"
  --key "$work/aozora.key")
run 0 "$pharmacy" "${at_aozora_ha[@]}" status "$id"
[ "$(field state "$out")" = DISPENSED ] || die "the survivor lost the dispense: $out"
info "Aozora Pharmacy, given both nodes (--broker A,B), reaches the survivor by itself: $id is $(field state "$out")"
run 2 "$pharmacy" "${at_aozora_ha[@]}" dispense "$id" --claim "$claim"
[ "$(field status "$out")" = ALREADY_DISPENSED ] || die "the survivor would dispense twice: $out"
info "a second dispense through the survivor: $(field status "$out")"

say "Stop the broker"
stop_rxd
info "the log holds one line per request, and no patient data:"
grep -m3 ' op=' "$work/rxd.log" | sed 's/^/    /'

say "Privacy at rest: scan every byte of the data dir"
# The drug master is the public price list, stored as it is; what was
# prescribed to whom (the item as written, notes, the override reason) is not.
if grep -rqa -e 'クレストール錠２．５ｍｇ (rosuvastatin' -e 'for the son' -e 'stop Norvasc' -e 'the rest when it arrives' \
  -e '123456789018' "$data"; then
  die "clear text found in the data dir"
fi
info "no prescribed item, note, override reason or My Number in clear text: bodies are sealed with XChaCha20-Poly1305"
printf '\nThe whole story ran against the real broker. Demo OK.\n'
