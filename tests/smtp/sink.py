"""A real SMTP server for Herald's e-mail tests (aiosmtpd).

Usage: sink.py PORT. Prints "READY" once it accepts connections, then one
JSON line per message received: {"from", "to", "data"}. Stops when stdin
closes, so it never outlives the test that started it.
"""

import json
import sys
import threading

from aiosmtpd.controller import Controller


class Print:
    async def handle_DATA(self, server, session, envelope):
        line = {
            "from": envelope.mail_from,
            "to": list(envelope.rcpt_tos),
            "data": envelope.content.decode("utf-8", "replace"),
        }
        print(json.dumps(line), flush=True)
        return "250 Message accepted for delivery"


def main():
    port = int(sys.argv[1])
    controller = Controller(Print(), hostname="127.0.0.1", port=port)
    controller.start()
    print("READY", flush=True)
    stop = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
