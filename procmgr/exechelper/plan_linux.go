package exechelper

import (
	"errors"
	"strconv"
	"strings"
	"syscall"
)

// Plan is what the helper does before it execs Path with Argv: the limits
// first (only root may raise them), then the umask, the credentials, and
// the directory (as that user, as os/exec's Dir would be).
type Plan struct {
	Umask  *uint32
	Limits []Limit
	Cred   *syscall.Credential // nil: stay who the agent is
	Dir    string
	Path   string
	Argv   []string
}

// Args encodes the plan as the helper's arguments, argv[0] included.
func (pl *Plan) Args() []string {
	a := []string{Arg0}
	if pl.Umask != nil {
		a = append(a, "umask="+strconv.FormatUint(uint64(*pl.Umask), 8))
	}
	for _, l := range pl.Limits {
		a = append(a, "limit="+l.Name+":"+strconv.Itoa(l.Resource)+":"+strconv.FormatUint(l.Value, 10))
	}
	if c := pl.Cred; c != nil {
		gs := make([]string, len(c.Groups))
		for i, g := range c.Groups {
			gs[i] = strconv.FormatUint(uint64(g), 10)
		}
		a = append(a, "uid="+strconv.FormatUint(uint64(c.Uid), 10), "gid="+strconv.FormatUint(uint64(c.Gid), 10),
			"groups="+strings.Join(gs, ","))
	}
	if pl.Dir != "" {
		a = append(a, "dir="+pl.Dir)
	}
	a = append(a, "--", pl.Path)
	return append(a, pl.Argv...)
}

// Parse decodes the helper's arguments (after argv[0]).
func Parse(args []string) (*Plan, error) {
	pl := &Plan{}
	for i, a := range args {
		if a == "--" {
			if len(args) < i+3 {
				return nil, errors.New("no program after --")
			}
			pl.Path, pl.Argv = args[i+1], args[i+2:]
			return pl, nil
		}
		k, v, _ := strings.Cut(a, "=")
		var err error
		switch k {
		case "umask":
			var u uint64
			u, err = strconv.ParseUint(v, 8, 32)
			m := uint32(u)
			pl.Umask = &m
		case "limit":
			var l Limit
			l, err = parseLimit(v)
			pl.Limits = append(pl.Limits, l)
		case "uid", "gid", "groups":
			if pl.Cred == nil {
				pl.Cred = &syscall.Credential{}
			}
			err = parseCred(pl.Cred, k, v)
		case "dir":
			pl.Dir = v
		default:
			err = errors.New("unknown argument")
		}
		if err != nil {
			return nil, errors.New("exec helper argument " + strconv.Quote(a) + ": " + err.Error())
		}
	}
	return nil, errors.New("exec helper: no -- before the program")
}

// parseLimit decodes NAME:RESOURCE:VALUE.
func parseLimit(v string) (Limit, error) {
	name, rest, _ := strings.Cut(v, ":")
	res, val, ok := strings.Cut(rest, ":")
	if !ok {
		return Limit{}, errors.New("want name:resource:value")
	}
	r, err := strconv.Atoi(res)
	if err != nil {
		return Limit{}, err
	}
	n, err := strconv.ParseUint(val, 10, 64)
	return Limit{Name: name, Resource: r, Value: n}, err
}

func parseCred(c *syscall.Credential, k, v string) error {
	if k == "groups" {
		for _, s := range strings.Split(v, ",") {
			if s == "" {
				continue
			}
			g, err := strconv.ParseUint(s, 10, 32)
			if err != nil {
				return err
			}
			c.Groups = append(c.Groups, uint32(g))
		}
		return nil
	}
	n, err := strconv.ParseUint(v, 10, 32)
	if k == "uid" {
		c.Uid = uint32(n)
	} else {
		c.Gid = uint32(n)
	}
	return err
}

// apply sets the plan's limits, umask, credentials and directory on this
// process, in that order.
func (pl *Plan) apply() error {
	for _, l := range pl.Limits {
		lim := syscall.Rlimit{Cur: l.Value, Max: l.Value}
		if err := syscall.Setrlimit(l.Resource, &lim); err != nil {
			return errors.New("cannot set limits." + l.Name + " to " + LimitValue(l.Value) + ": " + err.Error())
		}
	}
	if pl.Umask != nil {
		syscall.Umask(int(*pl.Umask))
	}
	if c := pl.Cred; c != nil {
		gs := make([]int, len(c.Groups))
		for i, g := range c.Groups {
			gs[i] = int(g)
		}
		if err := syscall.Setgroups(gs); err != nil {
			return errors.New("setgroups: " + err.Error())
		}
		if err := syscall.Setgid(int(c.Gid)); err != nil {
			return errors.New("setgid " + strconv.FormatUint(uint64(c.Gid), 10) + ": " + err.Error())
		}
		if err := syscall.Setuid(int(c.Uid)); err != nil {
			return errors.New("setuid " + strconv.FormatUint(uint64(c.Uid), 10) + ": " + err.Error())
		}
	}
	if pl.Dir != "" {
		if err := syscall.Chdir(pl.Dir); err != nil {
			return errors.New("cannot change to directory " + pl.Dir + ": " + err.Error())
		}
	}
	return nil
}
