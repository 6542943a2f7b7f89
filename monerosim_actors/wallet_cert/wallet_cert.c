/*
 * wallet_cert.c: the certificate monero-wallet-rpc makes and never uses, made cheap.
 *
 * Why: monero-wallet-rpc 0.18 makes an RSA-4096 key and a self-signed certificate for its client of
 * the daemon whenever a wallet is created or opened over RPC (epee's create_rsa_ssl_certificate,
 * "Generating SSL certificate" in its log), even with --daemon-ssl disabled, and then speaks plain
 * HTTP to the daemon: the certificate is never sent. Finding two 2048-bit primes took 1 to 3 s of CPU
 * per wallet here; a run of 200 wallet-only users spent minutes of wall time on it while the
 * simulation waited, more than on anything else a wallet does at start-up.
 *
 * RSA_generate_key_ex is libcrypto's (OpenSSL 3, linked dynamically), so this library, preloaded into
 * monero-wallet-rpc, stands in front of it and asks for a key of at most QUICK_BITS bits: creating a
 * wallet took 0.6-0.9 s here instead of 2.1-3.4 s (a 1024-bit key is refused by OpenSSL's default
 * security level, and the wallet then fails to create the wallet). Nothing simulated changes: the key
 * signs a certificate that no connection uses.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

#define QUICK_BITS 2048 /* the least that OpenSSL's default security level (2) lets a context use */

typedef int (*rsa_generate_fn)(void *rsa, int bits, void *e, void *cb);

int RSA_generate_key_ex(void *rsa, int bits, void *e, void *cb) {
    static rsa_generate_fn real;
    if (!real) real = (rsa_generate_fn)dlsym(RTLD_NEXT, "RSA_generate_key_ex");
    if (!real) {
        fprintf(stderr, "monerosim-wallet-cert: no RSA_generate_key_ex to call: stopping\n");
        abort();
    }
    if (bits > QUICK_BITS) {
        fprintf(stderr, "monerosim-wallet-cert: an RSA key of %d bits instead of %d for the unused certificate\n",
                QUICK_BITS, bits);
        bits = QUICK_BITS;
    }
    return real(rsa, bits, e, cb);
}
