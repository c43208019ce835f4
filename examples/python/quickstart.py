#!/usr/bin/env python3
"""Image-to-video against a RelayDance v1 gateway with `requests` (the seed's Python client).

Uploads an image, submits seedance-1-5-pro-with-audio for 5 s at 16:9 720p citing it as @image1,
polls until the task has succeeded or failed, and prints the video URL.

    VIDRELAY_BASE_URL=http://127.0.0.1:8080 VIDRELAY_API_KEY=sk-... \\
        python3 examples/python/quickstart.py [image]      # default: examples/media/landscape-600x450.jpg
"""
import os
import sys
import time
import uuid

import requests

BASE_URL = os.environ.get("VIDRELAY_BASE_URL", "http://127.0.0.1:8080").rstrip("/")
API_KEY = os.environ.get("VIDRELAY_API_KEY")
DEFAULT_IMAGE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "media", "landscape-600x450.jpg")


def check(response):
    """Raise with the API's own message: every error is {"error": {"message", "type", "code", "param"}}."""
    if response.ok:
        return response.json()
    try:
        error = response.json()["error"]
        detail = f'{error["code"]}: {error["message"]}' + (f' [{error["param"]}]' if error.get("param") else "")
    except (ValueError, KeyError, TypeError):
        detail = response.text[:300]
    raise SystemExit(f"HTTP {response.status_code} from {response.request.method} {response.url}: {detail}")


def main():
    if not API_KEY:
        raise SystemExit("set VIDRELAY_API_KEY (create one with: vidrelay keys create --account-name me)")
    path = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_IMAGE
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {API_KEY}"

    # 1. Upload the image (multipart, field "file"); its url is what the task cites.
    with open(path, "rb") as image:
        uploaded = check(
            session.post(f"{BASE_URL}/v1/files", files={"file": (os.path.basename(path), image)}, timeout=120)
        )

    # 2. Submit. The Idempotency-Key lets us retry this POST safely: the same key returns the same task.
    task = check(
        session.post(
            f"{BASE_URL}/v1/video/generations",
            headers={"Idempotency-Key": str(uuid.uuid4())},
            json={
                "model": "seedance-1-5-pro-with-audio",
                "prompt": "@image1 the camera slowly pushes in as the light glints",
                "seconds": "5",
                "metadata": {
                    "ratio": "16:9",
                    "resolution": "720p",
                    "content": [
                        {"type": "image_url", "image_url": {"url": uploaded["url"]}, "role": "reference_image"}
                    ],
                },
            },
            timeout=30,
        )
    )
    task_id = task["task_id"]
    print(f"submitted {task_id}", file=sys.stderr)

    # 3. Poll until succeeded or failed, backing off from 1 s to 5 s.
    delay, deadline = 1.0, time.time() + 30 * 60
    while True:
        task = check(session.get(f"{BASE_URL}/v1/video/generations/{task_id}", timeout=30))
        print(f'{task["status"]} {task.get("progress", 0)}%', file=sys.stderr)
        if task["status"] == "succeeded":
            print(task["url"])
            return 0
        if task["status"] == "failed":
            error = task.get("error") or {}
            print(f'task failed: {error.get("code")}: {error.get("message")}', file=sys.stderr)
            return 1
        if time.time() > deadline:
            raise SystemExit(f"{task_id} is still {task['status']} after 30 minutes")
        time.sleep(delay)
        delay = min(5.0, delay * 1.5)


if __name__ == "__main__":
    sys.exit(main())
