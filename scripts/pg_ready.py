"""Exit 0 when the PostgreSQL URL given as the only argument accepts a connection."""

import sys

import psycopg


def main() -> int:
    url = sys.argv[1].replace("postgresql+psycopg://", "postgresql://", 1)
    try:
        with psycopg.connect(url, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
