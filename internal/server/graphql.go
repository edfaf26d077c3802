package server

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"go.opentelemetry.io/otel/trace"

	"github.com/tenantry/tenantry/internal/auth"
	"github.com/tenantry/tenantry/internal/errs"
)

// GraphQLOptions are the hardening settings of the GraphQL endpoint.
type GraphQLOptions struct {
	Introspection bool
	MaxDepth      int
	MaxComplexity int
	Metrics       *Metrics
	// QueryContext, if set, prepares the context of every query operation (never a mutation),
	// e.g. with a memo of what the operation has already read.
	QueryContext func(context.Context) context.Context
	// ServiceOperations are the root fields a service token may call, each with the scopes
	// that open it (servicetokens.Operations); a service token is refused every other one.
	ServiceOperations map[string][]string
	// Tracing, if set, makes a span of every operation (tracing.go).
	Tracing trace.TracerProvider
}

// NewGraphQLHandler builds the GraphQL endpoint from explicit parts, as gqlgen recommends for
// production instead of NewDefaultServer: POST only, a bounded query cache, depth and complexity
// limits, introspection only when enabled, the one error presenter and panic recovery.
func NewGraphQLHandler(es graphql.ExecutableSchema, o GraphQLOptions) *handler.Server {
	srv := handler.New(es)
	srv.AddTransport(transport.POST{})
	srv.SetQueryCache(lru.New[*ast.QueryDocument](1000))
	srv.SetParserTokenLimit(5000)
	if o.Introspection {
		srv.Use(extension.Introspection{})
	}
	srv.Use(depthLimit{max: o.MaxDepth})
	srv.Use(extension.FixedComplexityLimit(o.MaxComplexity))
	if o.Metrics != nil {
		srv.Use(o.Metrics)
	}
	if o.Tracing != nil {
		srv.Use(graphqlTracing{tracer: o.Tracing.Tracer(tracerName)})
	}
	if o.QueryContext != nil {
		srv.AroundOperations(func(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
			if op := graphql.GetOperationContext(ctx).Operation; op != nil && op.Operation == ast.Query {
				ctx = o.QueryContext(ctx)
			}
			return next(ctx)
		})
	}
	srv.AroundRootFields(serviceGate(o.ServiceOperations))
	srv.SetErrorPresenter(presentError)
	srv.SetRecoverFunc(recoverPanic)
	return srv
}

// serviceGate refuses a service token every root field that ops does not list, and those it
// lists when the token holds none of their scopes: the service tokens' row of the actors table,
// enforced before any resolver runs. Requests without a service token pass.
func serviceGate(ops map[string][]string) graphql.RootFieldMiddleware {
	return func(ctx context.Context, next graphql.RootResolver) graphql.Marshaler {
		svc, ok := auth.ServiceFromContext(ctx)
		if !ok {
			return next(ctx)
		}
		name := graphql.GetRootFieldContext(ctx).Field.Name
		if name == "__typename" {
			return next(ctx)
		}
		scopes, listed := ops[name]
		switch {
		case !listed:
			graphql.AddError(ctx, errs.Detail(errs.ErrForbidden, "a service token may call only %s; sign in as an owner or admin for %s", strings.Join(slices.Sorted(maps.Keys(ops)), ", "), name))
			return graphql.Null
		case !slices.ContainsFunc(scopes, svc.HasScope):
			graphql.AddError(ctx, errs.Detail(errs.ErrForbidden, "this service token's scopes (%s) do not open %s, which needs one of: %s; ask an owner or admin for a token with that scope",
				strings.Join(svc.Scopes, ", "), name, strings.Join(scopes, ", ")))
			return graphql.Null
		}
		return next(ctx)
	}
}

// depthLimit refuses operations nested deeper than max, before any resolver runs. Complexity
// bounds the breadth; depth bounds what a cyclic schema (tenant → members → … ) could chain.
type depthLimit struct{ max int }

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = depthLimit{}

func (depthLimit) ExtensionName() string                   { return "DepthLimit" }
func (depthLimit) Validate(graphql.ExecutableSchema) error { return nil }

// introspectionMaxDepth bounds __schema and __type selections, which the limit on the API's own
// fields does not cover: GraphiQL's introspection query nests 15 levels (TypeRef's ofType chain),
// so the console could not load the schema under a depth limit of 10.
const introspectionMaxDepth = 20

func (d depthLimit) MutateOperationContext(_ context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	if oc.Operation == nil {
		return nil
	}
	data, meta := rootDepths(oc.Operation.SelectionSet, oc.Doc.Fragments)
	limit, depth := d.max, data
	if meta > introspectionMaxDepth {
		limit, depth = introspectionMaxDepth, meta
	}
	if depth > limit {
		err := gqlerror.Errorf("The query is nested %d levels deep; the limit is %d. Split it into smaller queries.", depth, limit)
		err.Extensions = map[string]any{"code": "QUERY_TOO_DEEP"}
		return err
	}
	return nil
}

// rootDepths is the depth of the operation's API fields and, apart, of its introspection fields.
func rootDepths(set ast.SelectionSet, frags ast.FragmentDefinitionList) (data, meta int) {
	for _, sel := range set {
		depth := selectionDepth(ast.SelectionSet{sel}, frags, 0)
		if f, ok := sel.(*ast.Field); ok && (f.Name == "__schema" || f.Name == "__type") {
			meta = max(meta, depth)
		} else {
			data = max(data, depth)
		}
	}
	return data, meta
}

func selectionDepth(set ast.SelectionSet, frags ast.FragmentDefinitionList, seen int) int {
	if seen > 64 { // fragments cannot cycle after validation, but never recurse unbounded
		return seen
	}
	deepest := 0
	for _, sel := range set {
		var d int
		switch s := sel.(type) {
		case *ast.Field:
			if len(s.SelectionSet) == 0 {
				d = 1
			} else {
				d = 1 + selectionDepth(s.SelectionSet, frags, seen+1)
			}
		case *ast.InlineFragment:
			d = selectionDepth(s.SelectionSet, frags, seen+1)
		case *ast.FragmentSpread:
			if f := frags.ForName(s.Name); f != nil {
				d = selectionDepth(f.SelectionSet, frags, seen+1)
			}
		}
		if d > deepest {
			deepest = d
		}
	}
	return deepest
}

// operationLabel names an operation by its root fields (from the schema, so the label set is
// bounded, unlike client-chosen operation names), e.g. "mutation.provisionTenant".
func operationLabel(ctx context.Context) string {
	if !graphql.HasOperationContext(ctx) {
		return "invalid"
	}
	oc := graphql.GetOperationContext(ctx)
	if oc.Operation == nil {
		return "invalid"
	}
	var fields []string
	for _, sel := range oc.Operation.SelectionSet {
		if f, ok := sel.(*ast.Field); ok {
			fields = append(fields, f.Name)
		} else {
			fields = append(fields, "fragment")
		}
	}
	sort.Strings(fields)
	fields = compactStrings(fields)
	if len(fields) > 3 {
		fields = append(fields[:3], "more")
	}
	return fmt.Sprintf("%s.%s", oc.Operation.Operation, strings.Join(fields, "+"))
}

func compactStrings(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}
