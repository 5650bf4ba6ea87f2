# echo PORT [tcp]                VSOCK (any CID) or TCP echo server (selectors)
# load PORT CLIENTS ROUNDS SECS  clients open at once over TCP 127.0.0.1:PORT,
#                                then ROUNDS 64 B round trips each; one JSON line
import json, os, selectors, socket, sys, time

def echo(port, tcp):
    sel = selectors.DefaultSelector()
    if tcp:
        ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind(("127.0.0.1", port))
    else:
        ls = socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM)
        ls.bind((socket.VMADDR_CID_ANY, port))
    ls.listen(4096)
    ls.setblocking(False)
    sel.register(ls, selectors.EVENT_READ)
    print("listening", flush=True)
    while True:
        for key, _ in sel.select():
            s = key.fileobj
            if s is ls:
                try:
                    c, _ = ls.accept()
                except OSError:
                    continue
                c.setblocking(False)
                sel.register(c, selectors.EVENT_READ)
                continue
            try:
                d = s.recv(65536)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                d = b""
            if not d:
                sel.unregister(s)
                s.close()
                continue
            s.setblocking(True)  # 64 B answers: never blocks for long
            try:
                s.sendall(d)
            except OSError:
                sel.unregister(s)
                s.close()
                continue
            s.setblocking(False)

def load(port, n, rounds, secs):
    sel = selectors.DefaultSelector()
    msg = b"x" * 64
    state = {}          # sock -> [phase, rounds left, bytes got, t0]
    fail = {"connect": 0, "reset": 0, "eof": 0, "timeout": 0, "corrupt": 0}
    lat = []
    t_start = time.monotonic()
    deadline = t_start + secs
    for i in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.setblocking(False)
        try:
            s.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        except OSError:
            fail["connect"] += 1
            s.close()
            continue
        state[s] = ["connecting", rounds, b"", 0.0]
        sel.register(s, selectors.EVENT_WRITE)
    # Phase 1: all connected (or failed), so that all are open at once.
    pending = len(state)
    while pending and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=1):
            s = key.fileobj
            err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            sel.unregister(s)
            pending -= 1
            if err:
                fail["connect"] += 1
                del state[s]
                s.close()
            else:
                state[s][0] = "open"
    t_open = time.monotonic()
    for s, st in list(state.items()):
        if st[0] != "open":
            fail["timeout"] += 1
            del state[s]
            s.close()
    opened = len(state)
    # Phase 2: round trips.
    for s, st in state.items():
        st[3] = time.monotonic()
        s.send(msg)
        sel.register(s, selectors.EVENT_READ)
    done = 0
    while state and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=1):
            s = key.fileobj
            st = state[s]
            try:
                d = s.recv(4096)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                d = None
            if not d:
                fail["reset" if d is None else "eof"] += 1
            else:
                st[2] += d
                if len(st[2]) < 64:
                    continue
                if st[2] != msg:
                    fail["corrupt"] += 1
                else:
                    now = time.monotonic()
                    lat.append(now - st[3])
                    st[1] -= 1
                    st[2] = b""
                    if st[1] > 0:
                        st[3] = now
                        s.send(msg)
                        continue
                    done += 1
            sel.unregister(s)
            s.close()
            del state[s]
    fail["timeout"] += len(state)
    lat.sort()
    pct = lambda p: round(lat[min(len(lat) - 1, int(p * len(lat)))] * 1e6, 1) if lat else None
    print(json.dumps({"clients": n, "opened": opened, "completed": done,
                      "failed": n - done, "failures": fail,
                      "open_s": round(t_open - t_start, 3),
                      "total_s": round(time.monotonic() - t_start, 3),
                      "rt_p50_us": pct(0.5), "rt_p99_us": pct(0.99)}))

if __name__ == "__main__":
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if sys.argv[1] == "echo":
        echo(int(sys.argv[2]), len(sys.argv) > 3)
    else:
        load(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]))
