#!/usr/bin/env python3
"""Builds tests/scan_quality/heldout2.jsonl: a second held-out part (issue #19).

Written before the scanner was tuned for the second round and never used to
tune it (scan_quality.sh --misses prints dev misses only). Every sample names
its source: `owner/repo:path` of a public test suite or fixture the value is
taken from, or `constructed:<format spec>` for a value written here from the
format's definition (numbering plans: ITU-T E.164 national plans as encoded in
google/libphonenumber's PhoneNumberMetadata.xml; the phone numbers below were
drawn at random inside each country's mobile or fixed-line range and checked
valid with libphonenumber-js 1.x `isValid()`, then written in that country's
national and international formats as libphonenumber formats them).
Labels are what the text is, decided when the sample was written, not what
the scanner says. Values needing a checksum (cards, IBANs) are completed here.
Run: python3 tests/scan_quality/gen_heldout2.py OUTDIR
"""
import json, os, random, string, sys

S = []
def add(text, ents, src):
    S.append({"text": text, "entities": sorted(set(ents)), "source": src})

def luhn_complete(prefix, length, seed):
    rng = random.Random(seed)
    d = [int(c) for c in prefix]
    while len(d) < length - 1:
        d.append(rng.randrange(10))
    for check in range(10):
        t = 0
        for i, v in enumerate(reversed(d + [check])):
            if i % 2 == 1:
                v *= 2
                if v > 9: v -= 9
            t += v
        if t % 10 == 0:
            return "".join(map(str, d + [check]))

def iban_complete(cc, bban):
    num = "".join(str(int(c, 36)) for c in (bban + cc + "00"))
    return cc + "%02d" % (98 - int(num) % 97) + bban

R = random.Random(19002)
def rs(n, alphabet=string.ascii_letters + string.digits):
    return "".join(R.choice(alphabet) for _ in range(n))
HEX = "0123456789abcdef"
B64U = string.ascii_letters + string.digits + "-_"

LPN = "constructed:numbering plan (google/libphonenumber:resources/PhoneNumberMetadata.xml), random valid number"
LPE = "google/libphonenumber:resources/PhoneNumberMetadata.xml (exampleNumber, mobile)"
# --- phones: one random valid mobile for each of 25 countries, national or international format ---
MOB = [("US", "(203) 912-9767", "+1 203 912 9767"), ("GB", "07410 630010", "+44 7410 630010"),
       ("DE", "015009 789696", "+49 15009 789696"), ("FR", "06 12 63 01 79", "+33 6 12 63 01 79"),
       ("ES", "614 74 27 52", "+34 614 74 27 52"), ("IT", "315 371 7700", "+39 315 371 7700"),
       ("NL", "06 18254763", "+31 6 18254763"), ("BE", "0455 27 91 90", "+32 455 27 91 90"),
       ("CH", "078 950 16 10", "+41 78 950 16 10"), ("AT", "0667 033316", "+43 667 033316"),
       ("CZ", "608 541 665", "+420 608 541 665"), ("PL", "515 575 621", "+48 515 575 621"),
       ("PT", "911 889 088", "+351 911 889 088"), ("SE", "070-469 59 70", "+46 70 469 59 70"),
       ("DK", "34 51 62 46", "+45 34 51 62 46"), ("IE", "085 137 2585", "+353 85 137 2585"),
       ("CA", "(505) 250-3094", "+1 505 250 3094"), ("AU", "0414 887 402", "+61 414 887 402"),
       ("BR", "(11) 96234-9042", "+55 11 96234 9042"), ("MX", "226 276 9014", "+52 226 276 9014"),
       ("AR", "011 15-8687-9126", "+54 9 11 8687 9126"), ("CO", "322 7543788", "+57 322 7543788"),
       ("IN", "081742 29492", "+91 81742 29492"), ("TR", "0503 268 68 42", "+90 503 268 68 42"),
       ("IL", "050-620-7045", "+972 50 620 7045")]
CTX = ['{"mobile": "%s"}', "Call me on %s after 5pm.", '{"contact": {"tel": "%s"}}', "WhatsApp %s",
       '{"customer": {"phoneNumber": "%s"}}', "Reach the driver at %s", '{"sms_to": "%s"}',
       "Kontakt: %s", '{"telefono": "%s"}', "%s (mobile)"]
for i, (cc, nat, intl) in enumerate(MOB):
    num = intl if i % 3 == 0 else nat
    add(CTX[i % len(CTX)] % num, ["PHONE"], LPN + " " + cc)
# compact E.164 and dotted variants
add('{"to": "+34614742752"}', ["PHONE"], LPN + " ES")
add('{"whatsapp": "+5511962349042"}', ["PHONE"], LPN + " BR")
add("Tel. 06.12.63.01.79", ["PHONE"], LPN + " FR")
add('{"phone": "0048 515 575 621"}', ["PHONE"], LPN + " PL (00 international prefix)")
# fixed lines with trunk prefix and area code
for cc, nat in [("DE", "030 22327207"), ("FR", "01 44 09 78 17"), ("IT", "02 9457 5508"), ("GB", "020 3435 1815"),
                ("NL", "020 573 8072"), ("BR", "(11) 3408-1500"), ("CH", "044 910 90 15")]:
    add("Office: %s" % nat if cc in ("DE", "IT", "BR") else '{"landline": "%s"}' % nat, ["PHONE"], LPN + " fixed line " + cc)
add("Bitte rufen Sie +49 30 22327207 an.", ["PHONE"], LPN + " fixed line DE")
# libphonenumber's own example numbers
add('{"phone": "+44 7400 123456"}', ["PHONE"], LPE + " GB")
add("Ring 0412 345 678", ["PHONE"], LPE + " AU")
# hard negatives: numbers that are not phones
NEG = "constructed:numbers that are not phones (order ids, timestamps, amounts, ids)"
for t in ['{"orderId": "100234567"}', '{"createdAt": 1733470422}', '{"timestamp": 1733470422123}',
          '{"total": "1 234 567,89 EUR"}', "Amount due: $12,345,678.90", '{"date": "2026-12-06 07:33:42"}',
          '{"invoice": "INV-2026-004512"}', '{"scenarioId": 3456789, "teamId": 120004521}',
          '{"ean": "4006381333931"}', '{"duration": 86400000}', '{"version": "4.12.345"}',
          "Order #512-3345-1187 has shipped", '{"trackingNumber": "1Z999AA10123456784"}',
          '{"range": "20240101-20241231"}', '{"isbn": "978-3-16-148410-0"}', '{"size": 1048576000}']:
    add(t, [], NEG)

# --- names ---
NM = "constructed:person names in name-like keys, greetings and signatures (issue #19 format)"
for t in ['{"fullName": "Anh Tuấn Phạm"}', '{"contact_name": "Rahul Deshpande"}', '{"ownerName": "Mei-Ling Chou"}',
          "Dear Adaeze Okonkwo,\nthank you for your order.", "Saludos cordiales,\nJoaquín Herrera Salinas",
          '{"first_name": "Małgorzata", "last_name": "Nowak"}', "Hello Rui Patrício,", "Thanks,\nHiroshi Tanaka",
          '{"assignee": {"displayName": "Ivana Horvatová"}}', "Name: Sven Lindqvist", '{"firstName": "Thandiwe"}',
          '{"billing": {"name": "Fatima Zahra El Idrissi"}}', "Hi Arjun,\nthe invoice is attached.\nBest,\nKavya Reddy"]:
    add(t, ["PERSON_NAME"], NM)
NMN = "constructed:scenario, module, app and team names (not persons)"
for t in ['{"name": "Daily Stripe Payout Sync"}', '{"scenario": {"name": "Lead Intake"}}', '{"appName": "Google Drive"}',
          '{"module": "airtable:ActionCreateRecord", "label": "Create Record"}', "Hello team,\nthe run failed.",
          "Best regards,\nCustomer Success", '{"name": "HTTP", "version": 3}', '{"displayName": "Webhook Response"}',
          "Name: Monthly Report"]:
    add(t, [], NMN)

# --- token families ---
add('user-token="xoxp-23984754863-2348975623000-2348973623000-cbbd37080273x3ef2577a1a365334"', ["SLACK_TOKEN"],
    "secretlint/secretlint:packages/@secretlint/secretlint-rule-slack/test/snapshots/ng.user-token/input.txt")
add("xoxr-523423-234243-234233-e039d02840a0b9379c", ["SLACK_TOKEN"], "Yelp/detect-secrets:tests/plugins/slack_test.py")
SL = "constructed:Slack token formats (api.slack.com/authentication/token-types)"
add('{"botToken": "xoxb-%s-%s-%s"}' % (rs(12, string.digits), rs(13, string.digits), rs(24)), ["SLACK_TOKEN"], SL + " bot")
add('SLACK_APP_TOKEN=xapp-1-A%s-%s-%s' % (rs(10, string.ascii_uppercase + string.digits), rs(13, string.digits), rs(64, HEX)), ["SLACK_TOKEN"], SL + " app-level")
add('{"refresh_token": "xoxe-1-%s"}' % rs(140, B64U), ["SLACK_TOKEN"], SL + " refresh")
add('{"config_token": "xoxe.xoxp-1-%s"}' % rs(150, B64U), ["SLACK_TOKEN"], SL + " configuration")
add("THIS IS OK https: https://api.slack.com/web.", [], "secretlint/secretlint:packages/@secretlint/secretlint-rule-slack/test/snapshots/ok.valid/input.txt")
ZP = "constructed:Zapier catch hook URL (hooks.zapier.com/hooks/catch/<account>/<hook>/)"
add('{"url": "https://hooks.zapier.com/hooks/catch/%s/%s/"}' % (rs(7, string.digits), rs(6, string.ascii_lowercase + string.digits)), ["ZAPIER_WEBHOOK_URL"], ZP)
add("POST https://hooks.zapier.com/hooks/catch/%s/%s" % (rs(8, string.digits), rs(7, string.ascii_lowercase + string.digits)), ["ZAPIER_WEBHOOK_URL"], ZP)
IF = "constructed:IFTTT Maker webhook (maker.ifttt.com/trigger/<event>/with/key/<key>)"
add('{"url": "https://maker.ifttt.com/trigger/door_open/with/key/%s"}' % rs(22, B64U), ["IFTTT_WEBHOOK_KEY"], IF)
add("curl -X POST https://maker.ifttt.com/trigger/new_lead/json/with/key/%s" % rs(43, B64U), ["IFTTT_WEBHOOK_KEY"], IF)
DC = "constructed:Discord webhook URL (discord.com/developers/docs/resources/webhook: /api/webhooks/<snowflake>/<token>)"
for host in ["discord.com", "discordapp.com", "canary.discord.com", "ptb.discord.com"]:
    add('{"webhook": "https://%s/api/webhooks/%s/%s"}' % (host, "1" + rs(18, string.digits), rs(68, B64U)), ["DISCORD_WEBHOOK_URL"], DC + " host " + host)
add('{"webhook": "https://discord.com/api/webhooks/{webhook.id}/{webhook.token}"}', [], DC + " placeholder")
add("bot110201543:AAHdqTcvCH1vGWJxfSe1ofSAs0K5PALDsaw", ["TELEGRAM_BOT_TOKEN"], "Yelp/detect-secrets:tests/plugins/telegram_token_test.py")
add("7213808860:AAH1bjqpKKW3maRSPAxzIU-0v6xNuq2-NjM", ["TELEGRAM_BOT_TOKEN"], "Yelp/detect-secrets:tests/plugins/telegram_token_test.py")
add("foo:AAH1bjqpKKW3maRSPAxzIU-0v6xNuq2-NjM", [], "Yelp/detect-secrets:tests/plugins/telegram_token_test.py")
add('{"url": "https://api.telegram.org/bot%s:AA%s/sendMessage"}' % (rs(10, string.digits), rs(33, B64U)), ["TELEGRAM_BOT_TOKEN"],
    "constructed:Telegram Bot API URL (core.telegram.org/bots/api: https://api.telegram.org/bot<token>/METHOD)")
PA = "constructed:Power Automate/Logic Apps HTTP trigger URL with sig= (learn.microsoft.com logic-apps)"
add('{"url": "https://prod-%d.westeurope.logic.azure.com:443/workflows/%s/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%%2Ftriggers%%2Fmanual%%2Frun&sv=1.0&sig=%s"}'
    % (R.randrange(10, 99), rs(32, HEX), rs(43, B64U)), ["POWER_AUTOMATE_URL"], PA)
add("https://prod2-11.uksouth.logic.azure.com/workflows/%s/triggers/When_a_HTTP_request_is_received/paths/invoke?api-version=2016-10-01&sp=%%2Ftriggers%%2FWhen_a_HTTP_request_is_received%%2Frun&sv=1.0&sig=%s"
    % (rs(32, HEX), rs(43, B64U)), ["POWER_AUTOMATE_URL"], PA)
add("https://username:password@yelp.com", [], "Yelp/detect-secrets:tests/plugins/basic_auth_test.py (a placeholder pair, see issue #19)")
PU = "constructed:RFC 3986 userinfo with a password"
add('{"redis": "redis://:%s@cache-01.internal:6379/0"}' % rs(20), ["PASSWORD_IN_URL"], PU + " (empty user name)")
add("amqp://etl_user:%s@mq.northwind-logistics.io:5672/prod" % rs(16), ["PASSWORD_IN_URL"], PU)
add('{"dsn": "mysql://report:%s@10.20.4.7:3306/crm"}' % rs(14), ["PASSWORD_IN_URL"], PU)
add('{"url": "https://hook.eu2.make.com/%s"}' % rs(32, string.ascii_lowercase + string.digits), ["MAKE_WEBHOOK_URL"],
    "constructed:Make custom webhook URL (hook.<zone>.make.com/<32 chars>)")
PH = "constructed:placeholders and public values (gitleaks/detect-secrets issue trackers' false positives)"
for t in ['{"apiKey": "<YOUR_API_KEY>"}', '{"token": "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}', '{"password": "changeme"}',
          '{"auth": "username:token"}', "postgres://user:password@localhost:5432/app", '{"api_key": "${API_KEY}"}',
          '{"csrfToken": "9f8a7c6d5e4b3a29180716253443526170898a7b"}', '{"publishableKey": "pk_live_51HxYzAbCdEfGhIjKlMnOpQrStUvWx"}',
          '{"secret": "example-secret-value"}', '{"token": "{{connection.token}}"}']:
    add(t, [], PH)

# --- separators and ranges ---
add("IBAN DE89 3704 0044 0532 0130 00", ["IBAN"], "microsoft/presidio:presidio-analyzer/tests/test_iban_recognizer.py")
add('{"iban": "PL61109010140000071219812874"}', ["IBAN"], "microsoft/presidio:presidio-analyzer/tests/test_iban_recognizer.py")
add("ES91 2100 0418 4502 0005 1333", [], "microsoft/presidio:presidio-analyzer/tests/test_iban_recognizer.py (bad checksum)")
IB = "constructed:ISO 13616 IBAN, mod-97, grouped with dashes"
ib = iban_complete("NL", "RABO0" + rs(9, string.digits)); add('{"account": "%s"}' % "-".join(ib[i:i+4] for i in range(0, len(ib), 4)), ["IBAN"], IB)
ib = iban_complete("FR", rs(23, string.digits)); add("Virement sur %s" % "-".join(ib[i:i+4] for i in range(0, len(ib), 4)), ["IBAN"], IB)
SS = "constructed:US SSN (SSA: area 001-899 but 666, group 01-99, serial 0001-9999)"
add('{"ssn": "512.48.3906"}', ["US_SSN"], SS + " dotted")
add("SSN 287-65-4321", ["US_SSN"], SS)
add('{"ssn": "666-12-3456"}', [], SS + " invalid area 666")
add('{"ref": "000-45-6789"}', [], SS + " invalid area 000")
DB = "constructed:date of birth behind a birth-date keyword"
add('{"dob": "19850214"}', ["DATE_OF_BIRTH"], DB + " compact")
add('{"birthDate": "14.02.1985"}', ["DATE_OF_BIRTH"], DB)
add("Date of birth: 1979-11-03", ["DATE_OF_BIRTH"], DB)
add('{"geburtsdatum": "03.11.1979"}', ["DATE_OF_BIRTH"], DB + " German key")
add('{"created": "19850214"}', [], DB + " (not a birth key)")
CC = "microsoft/presidio:presidio-analyzer/tests/test_credit_card_recognizer.py"
add("card 371449635398431", ["CREDIT_CARD"], CC + " amex")
add('{"card": "122000000000003"}', ["CREDIT_CARD"], CC + " UATP/airplus")
add("4012-8888-8888-1882", [], CC + " bad Luhn")
CR = "constructed:card issuer ranges (ISO/IEC 7812 IIN, Luhn)"
add('{"pan": "%s"}' % luhn_complete("1", 15, "uatp"), ["CREDIT_CARD"], CR + " UATP 15 digits")
c = luhn_complete("2221", 16, "mc2"); add("Card: %s %s %s %s" % (c[:4], c[4:8], c[8:12], c[12:]), ["CREDIT_CARD"], CR + " Mastercard 2-series")
add('{"cardNumber": "%s"}' % luhn_complete("6221", 19, "cup"), ["CREDIT_CARD"], CR + " UnionPay 19 digits")
add('{"card": "%s"}' % luhn_complete("3589", 16, "jcb"), ["CREDIT_CARD"], CR + " JCB")
MR = "constructed:medical record number in camelCase/snake_case keys"
add('{"patientMrn": "MRN-0048213"}', ["MEDICAL_RECORD_NUMBER"], MR)
add('{"medical_record_number": "A7730164"}', ["MEDICAL_RECORD_NUMBER"], MR)
add('{"email": "mbanda.t@%s.co.za"}' % rs(6, string.ascii_lowercase), ["EMAIL"], "constructed:RFC 5322 address")

def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    seen = set()
    for name in ("dev.jsonl", "heldout.jsonl", "heldout_seen.jsonl"):
        p = os.path.join(out, name)
        if os.path.exists(p):
            seen |= {json.loads(l)["text"] for l in open(p, encoding="utf-8") if l.strip()}
    rows = [r for r in S if r["text"] not in seen]
    with open(os.path.join(out, "heldout2.jsonl"), "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    print("heldout2 %d (%d dropped as already in the other parts)" % (len(rows), len(S) - len(rows)))

if __name__ == "__main__":
    main()
