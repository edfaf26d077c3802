// Package cloudfunctions is the deployment root for Cloud Functions. The Go buildpack deploys the
// package at the root of the uploaded module and serves the entry point named by --entry-point
// from the functions that package's imports register; this file only imports functions/, where
// the entry points live (one per job). Nothing else imports this package.
package cloudfunctions

import (
	"context"

	// Importing the framework's functions package here selects the buildpack's declarative
	// (init-registered) mode for the HTTP entry points.
	_ "github.com/GoogleCloudPlatform/functions-framework-go/functions"

	"github.com/tenantry/tenantry/functions"
)

// OnUserCreate is the 1st-gen providers/firebase.auth/eventTypes/user.create background function:
// 1st-gen Go functions are looked up by name in the root package, so it is re-exported here.
func OnUserCreate(ctx context.Context, u functions.AuthUserRecord) error {
	return functions.OnUserCreate(ctx, u)
}

// OnUserDelete is the 1st-gen providers/firebase.auth/eventTypes/user.delete background
// function, re-exported for the same reason.
func OnUserDelete(ctx context.Context, u functions.AuthUserRecord) error {
	return functions.OnUserDelete(ctx, u)
}
