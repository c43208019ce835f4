#!/usr/bin/env bash
# Image-to-video with nothing but curl (and jq to read the JSON):
#   upload an image, submit a 5 s 16:9 720p task citing it as @image1, poll, print the video URL.
#
#   VIDRELAY_BASE_URL=http://127.0.0.1:8080 VIDRELAY_API_KEY=sk-… ./examples/curl.sh [image]
set -euo pipefail

BASE_URL="${VIDRELAY_BASE_URL:-http://127.0.0.1:8080}"
: "${VIDRELAY_API_KEY:?set VIDRELAY_API_KEY (create one with: vidrelay keys create --account-name me)}"
IMAGE="${1:-$(dirname "$0")/media/landscape-600x450.jpg}"
AUTH="Authorization: Bearer ${VIDRELAY_API_KEY}"

# 1. Upload: multipart, the file in the field "file". The answer's url is what a task cites.
FILE_URL=$(curl -sS --fail-with-body -H "$AUTH" -F "file=@${IMAGE}" "${BASE_URL}/v1/files" | jq -r .url)

# 2. Submit. The Idempotency-Key makes a retried submit return the same task instead of a second one.
TASK_ID=$(curl -sS --fail-with-body -H "$AUTH" -H "Content-Type: application/json" \
  -H "Idempotency-Key: $(date +%s)-$$" \
  -d "$(jq -n --arg url "$FILE_URL" '{
        model: "seedance-1-5-pro-with-audio",
        prompt: "@image1 the camera slowly pushes in",
        seconds: "5",
        metadata: {ratio: "16:9", resolution: "720p",
                   content: [{type: "image_url", image_url: {url: $url}, role: "reference_image"}]}}')" \
  "${BASE_URL}/v1/video/generations" | jq -r .task_id)
echo "submitted ${TASK_ID}" >&2

# 3. Poll until succeeded or failed (the only two terminal statuses).
while :; do
  TASK=$(curl -sS --fail-with-body -H "$AUTH" "${BASE_URL}/v1/video/generations/${TASK_ID}")
  STATUS=$(jq -r .status <<<"$TASK")
  echo "${STATUS} $(jq -r .progress <<<"$TASK")%" >&2
  case "$STATUS" in
    succeeded) jq -r .url <<<"$TASK"; exit 0 ;;
    failed) jq -r '"failed: \(.error.code): \(.error.message)"' <<<"$TASK" >&2; exit 1 ;;
  esac
  sleep 2
done
