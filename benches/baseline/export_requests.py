"""What users do today: export every SalesOrder line with a plain Python client.

`requests` for the REST API (cookie sign-in, `$expand=Details`, `$top`/`$skip` pages of 1,000
one after another), then pandas to CSV. This is the baseline of figure 5 of
`cargo bench --bench report`; it prints one JSON line: {"rows", "pages", "seconds"}.

    python3 benches/baseline/export_requests.py --url http://127.0.0.1:8080 --out lines.csv
"""

import argparse
import json
import sys
import time

try:
    import pandas as pd
    import requests
except ImportError as e:  # the report prints "skipped" with the pip command
    print(f"missing Python package: {e.name}", file=sys.stderr)
    sys.exit(3)

PAGE = 1000
KEYS = ("OrderType", "OrderNbr")


def value(wrapper):
    """Acumatica wraps every field: {"value": x}, or {} for NULL."""
    return wrapper.get("value") if isinstance(wrapper, dict) else wrapper


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--user", default="admin")
    p.add_argument("--password", default="demo")
    p.add_argument("--company", default="Company")
    args = p.parse_args()

    started = time.perf_counter()
    s = requests.Session()
    r = s.post(
        f"{args.url}/entity/auth/login",
        json={"name": args.user, "password": args.password, "tenant": args.company},
    )
    r.raise_for_status()
    endpoint = f"{args.url}/entity/Default/24.200.001/SalesOrder"
    rows, pages, skip = [], 0, 0
    try:
        while True:
            r = s.get(
                endpoint,
                params={"$expand": "Details", "$top": PAGE, "$skip": skip},
                headers={"Accept": "application/json"},
            )
            r.raise_for_status()
            orders = r.json()
            pages += 1
            for order in orders:
                parent = {k: value(order.get(k)) for k in KEYS}
                for line in order.get("Details", []):
                    row = dict(parent)
                    row["id"] = line.get("id")
                    for k, v in line.items():
                        if k not in ("id", "rowNumber", "note", "custom", "_links"):
                            row[k] = value(v)
                    rows.append(row)
            if len(orders) < PAGE:
                break
            skip += PAGE
    finally:
        s.post(f"{args.url}/entity/auth/logout")
    pd.DataFrame(rows).to_csv(args.out, index=False)
    seconds = time.perf_counter() - started
    print(json.dumps({"rows": len(rows), "pages": pages, "seconds": seconds}))


if __name__ == "__main__":
    main()
