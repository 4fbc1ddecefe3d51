#!/usr/bin/env python3
"""Builds the labelled sets of tests/scan_quality/ (dev.jsonl, heldout_seen.jsonl: the round-1 held-out part, now seen).

Every sample names its source: `owner/repo:path` of the public test suite or
fixture it is taken from (or whose documented format it instantiates), or
`constructed:<why>` for a sample written here from a format's definition.
Values that need a checksum (cards, IBANs) are completed here so they are
valid. The split is fixed by the SHA-1 of the text (first hex digit 0-4:
held out), decided before the scanner was changed; the held-out part is
never used to tune the scanner. The shared dev corpus
(shared/corpus/pii/dev.jsonl) is added to dev.jsonl whole.
Run: python3 tests/scan_quality/gen_sets.py SHARED_DEV.jsonl OUTDIR
"""
import hashlib, json, os, random, sys

S = []
def add(text, ents, src):
    S.append({"text": text, "entities": sorted(set(ents)), "source": src})

def luhn_complete(prefix, length):
    digits = [int(c) for c in prefix]
    rng = random.Random(prefix + str(length))
    while len(digits) < length - 1:
        digits.append(rng.randrange(10))
    for check in range(10):
        d = digits + [check]
        tot = 0
        for i, v in enumerate(reversed(d)):
            if i % 2 == 1:
                v *= 2
                if v > 9: v -= 9
            tot += v
        if tot % 10 == 0:
            return "".join(map(str, d))

GL = "gitleaks/gitleaks:cmd/generate/config/rules/"
PR = "microsoft/presidio:presidio-analyzer/tests/"
DS = "Yelp/detect-secrets:tests/plugins/"

# --- Slack token families (gitleaks slack.go tps/fps) ---
for t in ["xoxb-781236542736-2364535789652-GkwFDQoHqzXDVsC6GzqYUypD",
          "xoxb-263594206564-2343594206574-FGqddMF8t08v8N7Oq4i57vs1MBS",
          "xoxb-4614724432022-5152386766518-O5WzjWGLG0wcCm2WPrjEmnys",
          "xoxp-283316862324-298911817009-298923149681-44f585044dace54f5701618e97cd1c0b",
          "xoxp-11873098179-111402824422-234336993777-b96c9fb3b69f82ebb79d12f280779de1",
          "xoxp-4614724432022-4621207627011-5182682871568-1ddad9823e8528ad0f4944dfa3c6fc6c",
          "xapp-1-A052FGTS2DL-5171572773297-610b6a11f4b7eb819e87b767d80e6575a3634791acb9a9ead051da879eb5b55e",
          "xapp-1-IEMF8IMY1OQ-4037076220459-85c370b433e366de369c4ef5abdf41253519266982439a75af74a3d68d543fb6",
          "xoxe.xoxp-1-Mi0yLTM0MTQwNDE0MDE3Ni0zNjU5NDY0Njg4MTctNTE4MjA3NTQ5NjA4MC01NDEyOTYyODY5NzUxLThhMTBjZmI1ZWIzMGIwNTg0ZDdmMDI5Y2UxNzVlZWVhYzU2ZWQyZTZiODNjNDZiMGUxMzRlNmNjNDEwYmQxMjQ",
          "xoxe.xoxb-1-Mi0yLTMxNzcwMjQ0MTcxMy0zNjU5NDY0Njg4MTctNTE1ODE1MjY5MTcxNC01MTU4MDI0MTgyOTc5LWRmY2YwY2U4ODhhNzY5ZGU5MTAyNDU4MDJjMGQ0ZDliMTZhMjNkMmEyYzliNjkzMDRlN2VjZTI4MWNiMzRkNGQ",
          "xoxe-1-My0xLTMxNzcwMjQ0MTcxMy01MTU4MTUyNjkxNzE0LTUxODE4NDI0MDY3MzYtMjA5MGFkOTFlZThkZWE2OGFlZDYwYWJjODNhYzAxYjA5ZjVmODBhYjgzN2QyNDdjOTNlOGY5NTg2YWM1OGM4Mg",
          "xoxe-1-My0xLTM0MTQwNDE0MDE3Ni01MTgyMDc1NDk2MDgwLTU0MjQ1NjIwNzgxODEtNGJkYTZhYTUxY2M1ODk3ZTNkN2YzMTgxMDI1ZDQzNzgwNWY4NWQ0ODdhZGIzM2ViOGI0MTM0MjdlNGVmYzQ4Ng",
          "xoxb-282029623751-BVtmnS3BQitmjZvjpQL7PSGP",
          "xoxb-312554961652-uSmliU84rFhnUSBq9YdKh6lS",
          "xoxa-2-511111111-31111111111-3111111111111-e039d02840a0b9379c",
          "xoxr-1-Qm9iU2VjcmV0UmVmcmVzaDEy",
          "xoxs-3206092076-3204538285-3743137121-836b042620",
          "xoxo-523423-234243-234233-e039d02840a0b9379c"]:
    add('"token": "%s"' % t, ["SLACK_TOKEN"], GL + "slack.go")
add('"url_private": "https:\\/\\/files.slack.com\\/files-pri\\/T04MCQMEXQ9-F04MAA1PKE3\\/image.png?t=xoxe-4726837507825-4848681849303-4856614048758-e0b1f3d4cb371f92260edb0d9444d206"', ["SLACK_TOKEN"], GL + "slack.go")
for t in ["xoxb-xxxxxxxxx-xxxxxxxxxx-xxxxxxxxxxxx", "xoxb-xxx", "xoxb-Slack_BOT_TOKEN",
          "xoxe.xoxp-1-SlackAppConfigurationAccessTokenHere", "xoxe.xoxp-1-RANDOMSTRINGHERE",
          "xoxe-1-xxx", "XOxE-RROAmw, Home and Garden, 5:24, 20120323",
          '"token2": "xoxp-XXXXXXXXXX-XXXXXXXXXX-XXXXXXXXXXX-XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"',
          '"token4": "xoxp-572370529330-573807301142-572331691188-####################"',
          "https://indieweb.org/images/3/35/2018-250-xoxo-indieweb-1.jpg",
          "https://github.com/xoxa-nyc/xoxa-nyc.github.io/blob/master/README.md"]:
    add(t, [], GL + "slack.go")

# --- low-code webhooks and bot tokens ---
add('const webhook_url = "https://discord.com/api/webhooks/1234567890/abcdefghijklmnopqrstuvwxyz";', ["DISCORD_WEBHOOK_URL"], "whisper (test_discord_webhook_detector.py, found via search)")
add("const webhookUrl = 'https://discord.com/api/webhooks/1400046836131299348/j2g_XnSCSQotXrbQsngY4pKFIFL5wMjetjqCShnugMYijMzcts3imUuo-QwAKPkyd3iD';", ["DISCORD_WEBHOOK_URL"], "public app/api/test-discord/route.ts (found via search)")
add('{"url": "https://discordapp.com/api/webhooks/812034918203941234/Zq8-HKEo1lK2bYpX0aZfN2m3Qw9sT4vUa7cDeFgHiJkLmNoPqRsTuVwXyZ0123456789ab"}', ["DISCORD_WEBHOOK_URL"], "trufflesecurity/trufflehog:pkg/detectors/discordwebhook (format)")
add('DISCORD_WEBHOOK=https://ptb.discord.com/api/webhooks/998877665544332211/aB3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW3xY5zA7bC9dE1fG3hI5jK7lM9nO1pQ3rS5tU', ["DISCORD_WEBHOOK_URL"], "trufflesecurity/trufflehog:pkg/detectors/discordwebhook (format)")
add("const webhook = process.env.DISCORD_WEBHOOK_URL; // https://discord.com/api/webhooks/...", [], "public api/selftest.js (found via search)")
add("this.discordWebhookBase = 'https://discord.com/api/webhooks';", [], "public discord webhook tester tool (found via search)")
add("https://maker.ifttt.com/trigger/button_pressed/with/key/1234567-12345678901234", [], "cables-gl/cables:src/ops/base/Ops.Net.Ifttt.IftttTrigger/Ops.Net.Ifttt.IftttTrigger.js (its documented dummy)")
add('url = "https://maker.ifttt.com/trigger/{}/with/key/{}"', [], "public IFTTT trigger test (found via search)")
add("https://maker.ifttt.com/trigger/{eventName}/with/key/{key}?value1={value1}", [], "idvorkin/LinqPadSnippets:IFTTTTrigger.linq")
add('{"url": "https://maker.ifttt.com/trigger/door_open/with/key/dQw4w9WgXcQ-7fK2pL9mN3bV5xZ8aS1"}', ["IFTTT_WEBHOOK_KEY"], "constructed:IFTTT Maker URL format (cables-gl/cables IftttTrigger.js comment)")
add("curl -X POST https://maker.ifttt.com/trigger/new_lead/json/with/key/hT7_qW2eR9tY4uI1oP6aS3dF8gH", ["IFTTT_WEBHOOK_KEY"], "constructed:IFTTT Maker URL format (json trigger)")
add("Take a note of your personal key at the end of your Maker URL: `https://maker.ifttt.com/use/[KEY]`", [], "ben-ng/dead-persons-switch:README.md (found via search)")
add("https://maker.ifttt.com/use/c9Xk2mP4qL7wZ1vB8nR5tY3hJ6", ["IFTTT_WEBHOOK_KEY"], "constructed:IFTTT Maker settings URL format")
tg = "7364918254:AAH9kX2mQ4pL7wZ1vB8nR5tY3hJ6cF0dS2e"
add('TELEGRAM_API_TOKEN = ' + tg, ["TELEGRAM_BOT_TOKEN"], GL + "telegram.go")
add('const bot = new Telegraf("82736451:AAGq7Rt2Yp9Lm4Nx8Vb3Kc6Hd1Jf5Sw0Ze-")', ["TELEGRAM_BOT_TOKEN"], GL + "telegram.go")
add('telegram bot: 12345:AAFlw3Pq9Rz7Xc2Vb5Nm8Kj4Hg6Fd1Sa0Qw', ["TELEGRAM_BOT_TOKEN"], GL + "telegram.go")
add('{"url": "https://api.telegram.org/bot5839201746:AAEr4Ty7Ui9Op2As5Df8Gh1Jk3Lz6Xc0Vbq/sendMessage"}', ["TELEGRAM_BOT_TOKEN"], GL + "telegram.go (URL form, TODO there)")
add('<xsd:element name="AgencyIdentificationCode" type="clm54321:AgencyIdentificationCodeContentType"/>', [], GL + "telegram.go")
add('token:"clm12345:AgencyIdentificationCodeContentType"', [], GL + "telegram.go")
add('telegram = 1234:AAFlw3Pq9Rz7Xc2Vb5Nm8Kj4Hg6Fd1Sa0Qw', [], GL + "telegram.go (bot id too short)")
add('{"url": "https://hooks.zapier.com/hooks/catch/4182736/bq8xz1k/"}', ["ZAPIER_WEBHOOK_URL"], "trufflesecurity/trufflehog:pkg/detectors/zapierwebhook (format)")
add("POST https://hooks.zapier.com/hooks/catch/12345678/abcd3fg/silent/", ["ZAPIER_WEBHOOK_URL"], "trufflesecurity/trufflehog:pkg/detectors/zapierwebhook (format)")
add("Zapier URL like https://hooks.zapier.com/hooks/catch/<account>/<hook>/", [], "constructed:documentation placeholder")
pa = "https://prod-27.westeurope.logic.azure.com:443/workflows/3f8a2c1d9b7e4f6a8c0d2e4f6a8b0c1d/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=Xk2mP4qL7wZ1vB8nR5tY3hJ6cF0dS2eQ9aW4sE7rT1y"
add('{"flowUrl": "%s"}' % pa, ["POWER_AUTOMATE_URL"], "constructed:Power Automate/Logic Apps HTTP trigger URL format (Azure docs)")
add("curl -X POST '" + pa.replace("prod-27.westeurope", "prod-03.northcentralus") + "'", ["POWER_AUTOMATE_URL"], "constructed:Power Automate HTTP trigger URL format")
add('https://default1234.environment.api.powerplatform.com:443/powerautomate/automations/direct/workflows/9a8b7c6d5e4f/triggers/manual/paths/invoke?api-version=1&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=aB3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW3xY5zA7bC9d', ["POWER_AUTOMATE_URL"], "constructed:Power Platform direct trigger URL format")
add("https://prod-27.westeurope.logic.azure.com:443/workflows/{workflowId}/triggers/manual/paths/invoke?api-version=2016-06-01&sig={signature}", [], "constructed:documentation placeholder")
add('{"webhook": "https://contoso.webhook.office.com/webhookb2/3f8a2c1d-9b7e-4f6a-8c0d-2e4f6a8b0c1d@72f988bf-86f1-41af-91ab-2d7cd011db47/IncomingWebhook/9f2b1c7d3e4a4b5c8d6e7f8091a2b3c4/0c1d2e3f-4a5b-6c7d-8e9f-0a1b2c3d4e5f"}', ["TEAMS_WEBHOOK_URL"], "trufflesecurity/trufflehog:pkg/detectors/microsoftteamswebhook (format)")

# --- other provider tokens from gitleaks' rule set ---
add('SENDGRID_API_KEY="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"', ["SENDGRID_KEY"], GL + "sendgrid.go")
add('gitlab_token = "glpat-Xq8mK2pL7wZ1vB8nR5tY"', ["GITLAB_TOKEN"], GL + "gitlab.go")
add('"npm_token": "npm_h6Kx9mQ2pL7wZ1vB8nR5tY3hJ6cF0dS2eQ9a"', ["NPM_TOKEN"], GL + "npm.go")
add('const key = "AIzaSyDaGmWKa4JsXZ-HjGw7ISLn_3namBGewQe";', ["GOOGLE_API_KEY"], GL + "gcp.go")
add('shopify_token = "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"', ["SHOPIFY_TOKEN"], GL + "shopify.go")
add('OPENAI_API_KEY=sk-proj-Xq8mK2pL7wZ1vB8nR5tYT3BlbkFJ3hJ6cF0dS2eQ9aW4sE7rT1y', ["OPENAI_KEY"], GL + "openai.go")

# --- password in URL, empty user ---
add("redis://:Xk2mP4qL7wZ1@cache.internal.acme.io:6379/0", ["PASSWORD_IN_URL"], "constructed:RFC 3986 userinfo with an empty user (issue #19)")
add('{"broker": "amqp://:s3cr3tPa55w0rd@mq.acme-corp.net:5672"}', ["PASSWORD_IN_URL"], "constructed:RFC 3986 userinfo with an empty user")
add("postgres://:password@localhost:5432/db", [], "secretlint/secretlint:packages/@secretlint/secretlint-rule-basicauth (placeholder password)")
add("https://user:pass@example.com/", [], "secretlint/secretlint:packages/@secretlint/secretlint-rule-basicauth (placeholder)")

# --- placeholders (gitleaks generic.go fps / detect-secrets filters) ---
for t, src in [('"api_key": "{{ secrets.API_KEY }}"', GL + "generic.go"),
               ('password = "<your-password>"', DS + "keyword_test.py"),
               ('"token": "{token}"', "Yelp/detect-secrets:detect_secrets/filters/heuristic.py (is_templated_secret)"),
               ('API_KEY=xxxxxxxxxxxxxxxxxxxxxxxxxxxx', GL + "generic.go"),
               ('"secret": "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"', GL + "generic.go"),
               ('password: "fakePassword123"', DS + "keyword_test.py"),
               ('api_key = "example-api-key-1234567890"', GL + "generic.go"),
               ('"password": "changeme123"', "constructed:placeholder word (issue #19)"),
               ('"auth": "username:token"', "constructed:placeholder words (issue #19)"),
               ('curl -u user:password https://api.acme.io', GL + "curl.go"),
               ('"csrf_token": "a8f5f167f44f4964e6c998dee827110c"', GL + "generic.go (csrf-token allowlist)"),
               ('<meta name="csrf-token" content="Xk2mP4qL7wZ1vB8nR5tY3hJ6cF0dS2eQ9aW4sE7rT1y">', GL + "generic.go (csrf-token allowlist)"),
               ('"publishableKey": "pk_live_51HxQ2mK2pL7wZ1vB8nR5tY3hJ6cF0dS2e"', "constructed:Stripe publishable key (documented public)"),
               ('"publicToken": "pt_9c2b7e4f1a8d3c6b0e5f2a9d7c4b1e8f"', "constructed:documented public token"),
               ('MAPBOX_PUBLIC_TOKEN: "pk.eyJ1IjoiYWNtZSIsImEiOiJja2x6In0.abc123def456"', "constructed:Mapbox public token"),
               ('"secret": "dummy_secret_value_0000"', DS + "keyword_test.py"),
               ('"password": "********"', GL + "generic.go"),
               ('"token": "REPLACE_ME_WITH_YOUR_TOKEN"', "constructed:placeholder"),
               ('"apiKey": "[YOUR_API_KEY]"', "constructed:placeholder in brackets"),
               ('secret_key = "<%= ENV["SECRET_KEY"] %>"', DS + "keyword_test.py"),
               ]:
    add(t, [], src)
add('"password": "Tr0ub4dor&3xK9"', ["GENERIC_API_KEY"], DS + "keyword_test.py")
add('"api_key": "9f2b1c7d3e4a4b5c8d6e7f8091a2b3c4"', ["GENERIC_API_KEY"], GL + "generic.go")
add('"client_secret": "qL7wZ1vB8nR5tY3hJ6cF0dS2e"', ["GENERIC_API_KEY"], GL + "generic.go")

# --- broken JSON keeps its secrets ---
add('{"headers": [{"name": "Authorization", "value": "Bearer 9f2b1c7d3e4a4b5c8d6e7f8091a2b3c4"},], "url": "https://api.acme.io"}', ["GENERIC_API_KEY"], "constructed:blueprint header with a trailing comma (issue #19)")
add('{"mapper": {"body": "{\\"totp\\": 1}", "password": "Xk2mP4qL7wZ1vB8n",}}', ["GENERIC_API_KEY"], "constructed:mapper with a trailing comma")
add('{"a": 1,, "contactEmail": "maria.gonzalez@acme-corp.net"}', ["EMAIL"], "constructed:double comma")
add('{"description": "reset your password here", "passwordHint": "the usual", "note": "token bucket size", }', [], "constructed:one-line file with a trailing comma (no key is a credential)")

# --- separators and ranges ---
for ib in ["DE89370400440532013000", "GB29NWBK60161331926819", "FR1420041010050500013M02606",
           "ES9121000418450200051332", "NL91ABNA0417164300", "IT60X0542811101000000123456",
           "PL61109010140000071219812874", "CH9300762011623852957", "AT611904300234573201", "BE68539007547034"]:
    g = "-".join(ib[i:i + 4] for i in range(0, len(ib), 4))
    add("IBAN: " + g, ["IBAN"], PR + "test_iban_recognizer.py (dash-grouped)")
add("IBAN: DE89-3704-0044-0532-0130-01", [], PR + "test_iban_recognizer.py (bad check digits, dash-grouped)")
for ssn in ["078.05.1123", "536.22.8726", "219.09.9999"]:
    add("SSN: " + ssn, ["US_SSN"], PR + "test_us_ssn_recognizer.py (dotted)")
add("693-09.4444", [], PR + "test_us_ssn_recognizer.py")
add("078.05.1120", [], PR + "test_us_ssn_recognizer.py (invalid list)")
for t in ['{"dob": "19850412"}', '{"birthDate": "19920731"}', '{"date_of_birth": "07031988"}',
          "DOB: 19761224", "Geburtsdatum: 12.03.1979", '{"patientBirthDate": "2001-02-17"}']:
    add(t, ["DATE_OF_BIRTH"], "constructed:compact birth dates behind a birth-date key (issue #19)")
for t in ['{"createdDate": "20240412"}', '{"orderDate": "19850412"}', '"build": "20231104"']:
    add(t, [], "constructed:dates without birth context")
for pre, ln, issuer in [("1220", 15, "UATP"), ("2200", 16, "Mir"), ("2221", 16, "Mastercard 2-series"),
                         ("6200", 16, "UnionPay"), ("6212", 19, "UnionPay 19"), ("3528", 16, "JCB"),
                         ("3056", 14, "Diners"), ("6011", 16, "Discover"), ("5018", 12, "Maestro 12"),
                         ("6759", 16, "Maestro UK"), ("6071", 16, "RuPay"), ("9792", 16, "Troy"),
                         ("3712", 15, "Amex"), ("5019", 16, "Dankort"), ("6360", 16, "Elo")]:
    n = luhn_complete(pre, ln)
    add("card: " + n, ["CREDIT_CARD"], PR + "test_credit_card_recognizer.py (%s range)" % issuer)
add("card: 122000000000003", ["CREDIT_CARD"], PR + "test_credit_card_recognizer.py (airplus)")
add("my credit card number is 4012-8888-8888-1882", [], PR + "test_credit_card_recognizer.py")
add("36168002586008", [], PR + "test_credit_card_recognizer.py")
for t in ['{"patientMrn": "A10038475"}', '{"patient_mrn": "00123456"}', '{"medicalRecordNo": "MR-445120"}',
          '{"mrnNumber": "7734210"}', '{"hospital_record_number": "H9921034"}', 'MRN: 0047712']:
    add(t, ["MEDICAL_RECORD_NUMBER"], "constructed:MRN under camelCase/snake_case keys (issue #19; presidio has no MRN recognizer, spec 1.1)")
add('{"mrnEnabled": true, "recordCount": 4471120}', [], "constructed:MRN-ish key that is a flag")

# --- phones: national formats of the 25 largest Make markets ---
# example numbers of libphonenumber's metadata (google/libphonenumber:resources/PhoneNumberMetadata.xml)
LP = "google/libphonenumber:resources/PhoneNumberMetadata.xml (exampleNumber, national format)"
for t in ["Tel: 030 12345678", "Mobil: 0151 23456789", "Tél : 01 23 45 67 89", "portable 06 12 34 56 78",
          "phone: 020 7946 0958", "mobile 07400 123456", "tel. 02 1234 5678", "cell 312 345 6789",
          "Teléfono: 912 34 56 78", "móvil 612 34 56 78", "telefoon 010 123 4567", "mobiel 06 12345678",
          "telefon: 512 345 678", "tel. 601 123 456", "Telefone: (11) 2345-6789", "celular (11) 96123-4567",
          "phone (02) 1234 5678", "mobile 0412 345 678", "電話 03-1234-5678", "携帯 090-1234-5678",
          "mobile: 081234 56789", "phone 98765 43210", "Tel.: 01 234 56 78", "Natel 078 123 45 67",
          "Telefon 0664 123456", "tel 08-123 456 78", "mobil 070-123 45 67", "telemóvel 912 345 678",
          "Tel: 021 123 4567", "cell 082 123 4567", "phone: 01 2345 6789", "Celular: 55 1234 5678",
          "Teléfono 11 2345-6789", "tel: 0212 345 67 89", "cep 0532 123 45 67", "phone (613) 555-2368",
          "mob. 087 123 4567", "tel 02 12 34 56 78", "mobil 0470 12 34 56", "telefon 20 12 34 56",
          "Celular: 310 1234567", "tel: +91 98765 43210", "0044 20 7946 0958"]:
    add(t, ["PHONE"], LP)
for t in ["Order #2024110477881234", "order_id: 100234567890", "timestamp 1699999999",
          "amount: 1 234 567.89 EUR", "total 12 345 678,00", "2024-01-05 10:22:33",
          "invoice INV-2023-000451", "version 3.14.159.2653", "zip 10115 Berlin", "ISBN 978 3 16 148410 0",
          '{"scenarioId": 4512398, "executionId": 88120931}', "tracking 1Z 999 AA1 01 2345 6784",
          "SKU 4006381333931", "ticket 12 34 56 78 90 12", "ref 0151 2345 6789 0000 1111"]:
    add(t, [], "constructed:numbers that are not phones (issue #19)")

# --- names from everywhere, without a first-name list ---
for t in ['{"fullName": "Priya Raghunathan"}', '{"contactName": "Nguyễn Thị Minh Khai"}',
          '{"firstName": "Thiago", "lastName": "Albuquerque"}', '{"customer_name": "Oluwaseun Adebayo"}',
          "Name: Svetlana Kuznetsova", "Hello Wei Zhang,\nyour order has shipped.", "Dear Mrs. Haruka Yamamoto,",
          "Best regards,\nJoão Gonçalves", "Kind regards,\nAnanya Krishnamurthy", '{"name": "Dmitri Volkov", "email": "d.v@acme.io"}',
          '{"recipient": {"name": "Fernanda Oliveira Costa"}}', "Regards, Bartłomiej Wiśniewski",
          '{"patient_name": "Kwame Mensah"}', '{"signer": "Siddharth Venkataraman"}', "Hi Lucía Fernández,",
          '{"first_name": "Yusuf", "last_name": "Özdemir"}', '{"holderName": "Chen Jianguo"}', "Cheers,\nMatteo Bianchi"]:
    add(t, ["PERSON_NAME"], "constructed:names in name-like keys and greeting/signature context (issue #19)")
for t in ['{"name": "Sync HubSpot Contacts", "scheduling": {"type": "indefinitely"}}',
          '{"scenarioName": "New Order Alert"}', '{"module": "google-sheets:addRow", "name": "Google Sheets"}',
          '{"appName": "Microsoft Teams"}', '{"name": "Watch New Rows", "flow": []}',
          '{"label": "Customer Name", "type": "text"}', "Hello World", "Best regards,\nThe Acme Team",
          '{"name": "Router", "module": "builtin:BasicRouter"}', '{"connectionName": "My Gmail Connection"}',
          '{"fullName": "{{1.first_name}} {{1.last_name}}"}', "Name: Invoice Template"]:
    add(t, [], "constructed:scenario/module/app names (issue #19)")

def main():
    shared, out = sys.argv[1], sys.argv[2]
    dev = [json.loads(l) for l in open(shared, encoding="utf-8") if l.strip()]
    held = []
    for r in S:
        (held if hashlib.sha1(r["text"].encode()).hexdigest()[0] in "01234" else dev).append(r)
    for name, rows in (("dev.jsonl", dev), ("heldout_seen.jsonl", held)):
        with open(os.path.join(out, name), "w", encoding="utf-8") as f:
            for r in rows:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
    print("dev %d (%d new), heldout %d" % (len(dev), len(dev) - sum(1 for _ in open(shared) if _.strip()), len(held)))

if __name__ == "__main__":
    main()
