#!/usr/bin/env python3
"""An "application" that submits mail the way a PHP/Java/Python app does: smtplib.

Reads one JSON job on stdin: host, port, from, to[], data (base64 of the exact message bytes),
mail_options[], starttls, cafile, user, password, retry_until (epoch seconds; retry on 4xx and
on connection errors until then, like an MTA queue would). Prints one JSON line: the final
code and text, and how many attempts it took.
"""
import base64, json, smtplib, ssl, sys, time

job = json.load(sys.stdin)
data = base64.b64decode(job["data"])
attempts = 0
deadline = job.get("retry_until", 0)
while True:
    attempts += 1
    code, text = None, ""
    try:
        with smtplib.SMTP(job["host"], job["port"], timeout=job.get("timeout", 120)) as s:
            s.ehlo("app.census.test")
            if job.get("starttls"):
                ctx = ssl.create_default_context(cafile=job.get("cafile"))
                s.starttls(context=ctx)
                s.ehlo("app.census.test")
            if job.get("user"):
                s.login(job["user"], job["password"])
            refused = s.sendmail(job["from"], job["to"], data, mail_options=job.get("mail_options", []))
            code, text = 250, "ok"
            if refused:
                code, text = 250, "partly refused: " + json.dumps({k: [v[0], v[1].decode()] for k, v in refused.items()})
    except smtplib.SMTPRecipientsRefused as e:
        first = next(iter(e.recipients.values()))
        code, text = first[0], first[1].decode("utf-8", "replace")
    except smtplib.SMTPResponseException as e:
        code, text = e.smtp_code, e.smtp_error.decode("utf-8", "replace") if isinstance(e.smtp_error, bytes) else str(e.smtp_error)
    except (OSError, smtplib.SMTPServerDisconnected) as e:
        code, text = None, f"{type(e).__name__}: {e}"
    except smtplib.SMTPException as e:
        # e.g. AUTH not offered: a client-side refusal, not worth a retry
        print(json.dumps({"code": None, "text": f"{type(e).__name__}: {e}", "attempts": attempts}))
        sys.exit(0)
    temporary = code is None or 400 <= code < 500
    if not temporary or time.time() >= deadline:
        break
    time.sleep(0.2)
print(json.dumps({"code": code, "text": text, "attempts": attempts}))
