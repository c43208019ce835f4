/**
 * A throwaway self-signed certificate for "pinned.test" (valid until 2126), made with
 * `openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 36500
 * -subj /CN=pinned.test -addext subjectAltName=DNS:pinned.test`. Test use only.
 */
export const TEST_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgE5x9yia4kEwP/cRw
vre8LOGH6cbfLn1hHfCEtFtkZ1ehRANCAATJejnqL3abWZGUKiYa99f4HG0xGm6P
gmPKVOgXMgB2bKLYHNXZ62L7GG3GbiHRAJJuQH3ZAvx4W3BUnReZ6K/F
-----END PRIVATE KEY-----
`;

export const TEST_CERT = `-----BEGIN CERTIFICATE-----
MIIBmjCCAUGgAwIBAgIUOjmw6r+QXAjWThe/+g2kwysuVJMwCgYIKoZIzj0EAwIw
FjEUMBIGA1UEAwwLcGlubmVkLnRlc3QwIBcNMjYxMTI0MDM0NDI5WhgPMjEyNjEw
MzEwMzQ0MjlaMBYxFDASBgNVBAMMC3Bpbm5lZC50ZXN0MFkwEwYHKoZIzj0CAQYI
KoZIzj0DAQcDQgAEyXo56i92m1mRlComGvfX+BxtMRpuj4JjylToFzIAdmyi2BzV
2eti+xhtxm4h0QCSbkB92QL8eFtwVJ0XmeivxaNrMGkwHQYDVR0OBBYEFNnge2KT
6FB2HuXM+V4yVbuF2/GrMB8GA1UdIwQYMBaAFNnge2KT6FB2HuXM+V4yVbuF2/Gr
MA8GA1UdEwEB/wQFMAMBAf8wFgYDVR0RBA8wDYILcGlubmVkLnRlc3QwCgYIKoZI
zj0EAwIDRwAwRAIgcZf8s7zsTUA7ABEW48aQ0MlbAMTPK398tXF3AGCwJB8CIFUB
UsP9nt2X6qSGu8zVQ8eJpjXJdnWIsGf+BPcXj467
-----END CERTIFICATE-----
`;
