package publish

import (
	"errors"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

func asURLError(err error, target **url.Error) bool { return errors.As(err, target) }

func strconvQuote(s string) string { return strconv.Quote(s) }

func (s Schemes) list() string {
	names := make([]string, 0, len(s))
	for k := range s {
		names = append(names, k+"://")
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}
