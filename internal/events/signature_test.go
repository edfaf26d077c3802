package events

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// The Standard Webhooks specification's published test vector: every library of the
// specification (standard-webhooks/libraries, Go, Python, JavaScript, …) signs this message to
// exactly this signature.
const (
	vectorSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vectorID        = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vectorTimestamp = 1614265330
	vectorBody      = `{"test": 2432232314}`
	vectorSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func vector(t *testing.T) Secret {
	t.Helper()
	s, err := ParseSecret(vectorSecret)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSignMatchesTheSpecificationVector(t *testing.T) {
	t.Parallel()
	if got := vector(t).Sign(vectorID, time.Unix(vectorTimestamp, 0), []byte(vectorBody)); got != vectorSignature {
		t.Errorf("signature %q, the specification says %q", got, vectorSignature)
	}
}

func TestVerify(t *testing.T) {
	t.Parallel()
	s := vector(t)
	at := time.Unix(vectorTimestamp, 0)
	other, err := ParseSecret("whsec_" + strings.Repeat("QUJD", 8))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		secret Secret
		edit   func(h map[string][]string, body *string)
		now    time.Time
		want   error
	}{
		{"the vector as published", s, nil, at, nil},
		{"within tolerance, late", s, nil, at.Add(DefaultTolerance), nil},
		{"within tolerance, early", s, nil, at.Add(-DefaultTolerance), nil},
		{"a rotated secret: one of several signatures matches", s, func(h map[string][]string, _ *string) {
			h["Webhook-Signature"] = []string{"v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= v2,x " + vectorSignature}
		}, at, nil},
		{"a tampered body", s, func(_ map[string][]string, body *string) { *body = `{"test": 2432232315}` }, at, ErrNoValidSig},
		{"another secret", other, nil, at, ErrNoValidSig},
		{"another message id", s, func(h map[string][]string, _ *string) { h["Webhook-Id"] = []string{"msg_other"} }, at, ErrNoValidSig},
		{"the signature under another version", s, func(h map[string][]string, _ *string) {
			h["Webhook-Signature"] = []string{"v2," + strings.TrimPrefix(vectorSignature, "v1,")}
		}, at, ErrNoValidSig},
		{"too old: a replay", s, nil, at.Add(DefaultTolerance + time.Second), ErrTooOld},
		{"too new", s, nil, at.Add(-DefaultTolerance - time.Second), ErrTooNew},
		{"no signature", s, func(h map[string][]string, _ *string) { delete(h, "Webhook-Signature") }, at, ErrMissingHeaders},
		{"a timestamp that is not a number", s, func(h map[string][]string, _ *string) { h["Webhook-Timestamp"] = []string{"yesterday"} }, at, ErrBadTimestamp},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := s.Headers(vectorID, at, []byte(vectorBody))
			body := vectorBody
			if c.edit != nil {
				c.edit(h, &body)
			}
			if err := Verify(c.secret, h, []byte(body), c.now, 0); !errors.Is(err, c.want) {
				t.Errorf("Verify: %v, want %v", err, c.want)
			}
		})
	}
}

func TestParseSecretRefusesWithoutRepeatingIt(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_", "whsec_not base64!!", "whsec_c2hvcnQ="} {
		_, err := ParseSecret(bad)
		if !errors.Is(err, ErrBadSecret) {
			t.Errorf("ParseSecret(%q): %v, want ErrBadSecret", bad, err)
		}
		if key := strings.TrimPrefix(bad, "whsec_"); key != "" && strings.Contains(err.Error(), key) {
			t.Errorf("the error repeats the secret: %v", err)
		}
	}
	if s := vector(t); s.String() != "whsec_***" {
		t.Errorf("a secret prints as %q", s.String())
	}
}
