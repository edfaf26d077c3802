package config

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/tenantry/tenantry/internal/events"
)

// EventsEnabled reports whether events to the application are made and delivered.
func (c Config) EventsEnabled() bool { return c.EventsURL != "" }

// validateEvents checks the events settings. Neither the secret nor the URL (which may carry a
// token) is repeated in a message.
func (c Config) validateEvents() []error {
	var problems []error
	add := func(format string, args ...any) { problems = append(problems, fmt.Errorf(format, args...)) }
	if c.EventsURL == "" {
		if c.EventsSecret != "" {
			add("TENANTRY_EVENTS_SECRET is set but TENANTRY_EVENTS_URL is not: set the URL the events go to, or unset the secret")
		}
		return problems
	}
	if err := events.CheckURL(c.EventsURL); err != nil {
		add("TENANTRY_EVENTS_URL: use an absolute http:// or https:// URL with a host, such as https://app.example.com/tenantry/events")
	} else if c.Env == Production && strings.HasPrefix(strings.ToLower(c.EventsURL), "http://") {
		add("TENANTRY_EVENTS_URL is plain http:// with TENANTRY_ENV=production: events carry member emails; use https://")
	}
	if _, err := events.ParseSecret(c.EventsSecret); err != nil {
		add("TENANTRY_EVENTS_SECRET: with TENANTRY_EVENTS_URL set, give the signing secret as whsec_ followed by standard base64 of 24 to 64 random bytes (e.g. whsec_$(openssl rand -base64 32))")
	}
	if c.EventsTimeout < time.Second || c.EventsTimeout > c.OutboxLease/2 {
		add("TENANTRY_EVENTS_TIMEOUT=%s: use at least 1s and at most half of TENANTRY_OUTBOX_LEASE (%s)", c.EventsTimeout, c.OutboxLease)
	}
	return problems
}

// eventsOrigin is the events URL's scheme and host, for the start-up log (its path or query may
// carry a token).
func (c Config) eventsOrigin() string {
	u, err := url.Parse(c.EventsURL)
	if err != nil || c.EventsURL == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}
