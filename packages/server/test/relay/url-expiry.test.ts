import assert from "node:assert/strict";
import { test } from "node:test";
import { UNKNOWN_URL_LIFETIME_MS, urlExpiresAt } from "../../src/relay/url-expiry.ts";

test("a presigned URL's own lifetime is read from its query; a plain URL gets an hour", () => {
  const now = Date.UTC(2026, 11, 7, 12, 0, 0);
  const signedAt = Date.UTC(2026, 11, 7, 11, 0, 0);
  assert.equal(
    urlExpiresAt(
      "https://tos.example/v.mp4?X-Tos-Algorithm=TOS4-HMAC-SHA256&X-Tos-Date=20261207T110000Z&X-Tos-Expires=86400&X-Tos-Signature=x",
      now,
    ),
    signedAt + 86_400_000,
  );
  assert.equal(
    urlExpiresAt(
      "https://s3.example/v.mp4?X-Amz-Date=20261207T110000Z&X-Amz-Expires=3600&X-Amz-Signature=x",
      now,
    ),
    signedAt + 3_600_000,
  );
  assert.equal(
    urlExpiresAt("https://oss.example/v.mp4?Expires=1796680800&OSSAccessKeyId=a&Signature=b", now),
    1796680800_000,
  );
  assert.equal(urlExpiresAt("https://cdn.example/v.mp4", now), now + UNKNOWN_URL_LIFETIME_MS);
  assert.equal(urlExpiresAt("not a url", now), now + UNKNOWN_URL_LIFETIME_MS);
  assert.equal(
    urlExpiresAt("https://s3.example/v.mp4?X-Amz-Date=garbage&X-Amz-Expires=60", now),
    now + UNKNOWN_URL_LIFETIME_MS,
  );
});
