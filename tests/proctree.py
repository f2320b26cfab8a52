"""Process-tree helpers for tests that check which program holds a connection."""
import os


def kids(ppid):
    """The pids whose parent is ppid."""
    out = []
    for d in os.listdir('/proc'):
        if d.isdigit():
            try:
                st = open('/proc/%s/stat' % d).read()
                if int(st.rsplit(')', 1)[1].split()[1]) == ppid:
                    out.append(int(d))
            except (OSError, ValueError, IndexError):
                pass
    return out


def comm(pid):
    return open('/proc/%d/comm' % pid).read().strip()
