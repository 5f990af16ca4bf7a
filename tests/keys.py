"""Real public keys for tests, made with openssl; DKIM TXT records publish them base64-encoded."""

# openssl genrsa 1024 | openssl rsa -pubout -outform DER | base64
RSA_1024_SPKI = (
    "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQCsiru1/1dwJVdvgfZOrHdTUF9K+/xNffhkLW0f0i1xQiR9o05VGTyoF02iIE5o"
    "ep2pQqAKRgztRPUTLju0A094rDPK07En61Hc7nIBMc/4z+i6EeOaZCaF0h/LA0LARrrw0sVXhNUPWT4Lf2zG/srH/VgWXQ0DAWR8"
    "6OUN7DjVKwIDAQAB"
)
# The same key as a bare PKCS#1 RSAPublicKey (openssl rsa -RSAPublicKey_out -outform DER | base64).
RSA_1024_PKCS1 = (
    "MIGJAoGBAKyKu7X/V3AlV2+B9k6sd1NQX0r7/E19+GQtbR/SLXFCJH2jTlUZPKgXTaIgTmh6nalCoApGDO1E9RMuO7QDT3isM8rT"
    "sSfrUdzucgExz/jP6LoR45pkJoXSH8sDQsBGuvDSxVeE1Q9ZPgt/bMb+ysf9WBZdDQMBZHzo5Q3sONUrAgMBAAE="
)
RSA_2048_SPKI = (
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAuu48QviHEVZlePrW0AoWCiQB8NSKieIjlFbzpfXZxKnE6YlcmiDSAdFU"
    "KQlKCqcvm7Ilv+6HWrwKZEKV7ssjm+iHzBVoZQwxpPNy1zGTKqKgQ7o53KyFSILml+9NRtmz5eZpgBUhnVoCzBZAPTDfblhggNCt"
    "GbkuhjII7SNm+Cm9WNmqpqia9NNg3XycuUFDwTu74JZYiywN41cmFO6W8YmjREXzaHss9UKt7sojJsKLDsP3nFaLuALgX3gdG6PF"
    "iN+4A5IyBsKcsufch/y7Y+QuLwbo+AjHlTABN/mH0spLHY67aUfwwM5ptIdBtZWvaQv47YdeuZ3p1p3JFRJ3oQIDAQAB"
)
# openssl genpkey -algorithm ed25519 | openssl pkey -pubout -outform DER | base64
ED25519_SPKI = "MCowBQYDK2VwAyEAkDGG8lqrmsXYhFU+EOkj/3oxZbCDQ0aztjJwzzFfuBU="
