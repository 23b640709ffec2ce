"""A real SMTP server for the email tests (aiosmtpd from PyPI).

    python scripts/smtp_server.py --port 2525 --dir OUT [--reject]
        [--stall-first SECONDS [--stall-refuse]]

Accepts every message and writes it to OUT/<n>.eml (the raw message as received, with the
envelope in X-Envelope-* headers prepended), or with --reject refuses every recipient with
550. With --stall-first, the reply to the first message's data comes SECONDS late: the
message is stored and then accepted (250), or with --stall-refuse not stored and refused
with 451 (try again later); OUT/stall-started and OUT/stall-ended mark the stall. Prints
"ready <port>" on stdout once it listens; stops on SIGTERM/SIGINT.
"""

import argparse
import asyncio
import itertools
import os
import signal
import sys

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, directory, reject, stall, stall_refuse):
        self.directory = directory
        self.reject = reject
        self.counter = itertools.count(1)
        self.stall = stall
        self.stall_refuse = stall_refuse
        self.stalled = False

    def mark(self, name):
        with open(os.path.join(self.directory, name), "w") as f:
            f.write("")

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.reject:
            return "550 5.1.1 mailbox unavailable (rejected by the test server)"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        stall = self.stall is not None and not self.stalled
        self.stalled = self.stalled or stall
        if stall and self.stall_refuse:
            self.mark("stall-started")
            await asyncio.sleep(self.stall)
            self.mark("stall-ended")
            return "451 4.3.0 try again later (stalled by the test server)"
        n = next(self.counter)
        path = os.path.join(self.directory, f"{n:06d}.eml")
        tmp = path + ".tmp"
        header = (
            f"X-Envelope-From: {envelope.mail_from}\r\n"
            f"X-Envelope-To: {', '.join(envelope.rcpt_tos)}\r\n"
        ).encode()
        with open(tmp, "wb") as f:
            f.write(header + envelope.original_content)
        os.replace(tmp, path)
        if stall:
            self.mark("stall-started")
            await asyncio.sleep(self.stall)
            self.mark("stall-ended")
        return "250 Message accepted for delivery"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--reject", action="store_true")
    parser.add_argument("--stall-first", type=float)
    parser.add_argument("--stall-refuse", action="store_true")
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    sink = Sink(args.dir, args.reject, args.stall_first, args.stall_refuse)
    controller = Controller(sink, hostname="127.0.0.1", port=args.port)
    controller.start()
    print(f"ready {args.port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.new_event_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        loop.run_until_complete(stop.wait())
    finally:
        controller.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
