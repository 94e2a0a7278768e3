#!/usr/bin/env python3
"""A passphrase prompt interrupted by a signal must leave the terminal as it found it.

Runs `VEIL wallet addresses --wallet FILE` on a fresh pseudo-terminal with no other
passphrase source, waits for the prompt (echo is off then), sends SIGINT and checks that
the terminal has echo again once the process is gone.
usage: tty_prompt.py VEIL WALLET_FILE    exit 0: restored; 1: not; 2: setup failed
"""
import os
import select
import signal
import subprocess
import sys
import termios
import time

veil, wallet = sys.argv[1], sys.argv[2]
master, slave = os.openpty()
env = {k: v for k, v in os.environ.items() if k != "VEIL_WALLET_PASSPHRASE"}
p = subprocess.Popen([veil, "wallet", "addresses", "--wallet", wallet], stdin=slave,
                     stdout=slave, stderr=slave, env=env, start_new_session=True)
seen, deadline = b"", time.time() + 20
while b"passphrase:" not in seen and time.time() < deadline:
    r, _, _ = select.select([master], [], [], 0.2)
    if r:
        seen += os.read(master, 4096)
if b"passphrase:" not in seen:
    print("no prompt seen:", seen)
    p.kill()
    sys.exit(2)
time.sleep(0.2)  # the prompt is printed just before echo goes off
if termios.tcgetattr(slave)[3] & termios.ECHO:
    print("echo was not off at the prompt")
    p.kill()
    sys.exit(2)
p.send_signal(signal.SIGINT)
p.wait(timeout=10)
echo = termios.tcgetattr(slave)[3] & termios.ECHO
print("exit", p.returncode, "echo", "on" if echo else "OFF")
sys.exit(0 if echo else 1)
