package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/parcelguard/parcelguard"
	"github.com/parcelguard/parcelguard/service"
)

// The console's accounts page: who may sign in to the console and the
// courier app, adding an account (its password typed, or generated and
// shown once), and disabling or enabling one. Operators manage operators
// and couriers; only admins manage admins (the service decides, the page
// only hides what would be refused).

func (h *Handler) registerConsoleAccounts(mux *http.ServeMux) {
	mux.Handle("GET /console/accounts", h.authed("console", h.consoleAccounts))
	mux.Handle("POST /console/accounts", h.authed("console", h.consoleAccountCreate))
	mux.Handle("POST /console/accounts/{id}/disable", h.authed("console", h.consoleAccountState(true)))
	mux.Handle("POST /console/accounts/{id}/enable", h.authed("console", h.consoleAccountState(false)))
}

// accountRow is one account as the list shows it.
type accountRow struct {
	*parcelguard.Account
	// CarrierName names a courier's carrier.
	CarrierName string
	// CanManage says whether the viewer may disable or enable it; Self
	// marks the viewer's own account (which they may not disable).
	CanManage, Self bool
}

// accountForm is what the create form holds (never the password).
type accountForm struct {
	Username, Name, Role, CarrierID string
}

// accountsView is the accounts page.
type accountsView struct {
	Accounts []accountRow
	Carriers []*parcelguard.Carrier
	// Roles are the roles the viewer may create.
	Roles []parcelguard.Role
	Form  accountForm
	// Fields maps a form field to what is wrong with it.
	Fields map[string]string
	// Created is the account just added; Password its generated password,
	// shown this once.
	Created  *parcelguard.Account
	Password string
}

// manageable are the roles a viewer of role may create and manage.
func manageable(role parcelguard.Role) []parcelguard.Role {
	if role == parcelguard.RoleAdmin {
		return []parcelguard.Role{parcelguard.RoleOperator, parcelguard.RoleCourier, parcelguard.RoleAdmin}
	}
	return []parcelguard.Role{parcelguard.RoleOperator, parcelguard.RoleCourier}
}

// accountsLimit bounds the list (the service's maximum).
const accountsLimit = 500

// loadAccounts fills the list and the carriers of the form.
func (h *Handler) loadAccounts(r *http.Request, s *service.SignedIn) (*accountsView, error) {
	accts, err := h.svc.Accounts(r.Context(), s.Principal, parcelguard.AccountFilter{Limit: accountsLimit})
	if err != nil {
		return nil, err
	}
	cs, err := h.svc.Carriers(r.Context(), s.Principal, parcelguard.CarrierFilter{Limit: 500})
	if err != nil {
		return nil, err
	}
	av := &accountsView{Roles: manageable(s.Account.Role), Form: accountForm{Role: string(parcelguard.RoleOperator)}}
	names := map[string]string{}
	for _, c := range cs {
		av.Carriers = append(av.Carriers, c.Carrier)
		names[c.Carrier.ID] = c.Carrier.Name
	}
	for _, a := range accts {
		row := accountRow{Account: a, CarrierName: names[a.CarrierID], Self: a.ID == s.Account.ID}
		for _, role := range av.Roles {
			row.CanManage = row.CanManage || role == a.Role
		}
		av.Accounts = append(av.Accounts, row)
	}
	return av, nil
}

func (h *Handler) consoleAccounts(w http.ResponseWriter, r *http.Request, s *service.SignedIn) {
	av, err := h.loadAccounts(r, s)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v := h.userView(w, r, s, "console", "console.accounts")
	q := r.URL.Query()
	switch q.Get("done") {
	case "disabled":
		v.Notice = v.T("accounts.disabled_notice", q.Get("user"))
	case "enabled":
		v.Notice = v.T("accounts.enabled_notice", q.Get("user"))
	case "own":
		v.Problem = v.T("accounts.own")
	case "forbidden":
		v.Problem = v.T("accounts.forbidden")
	}
	v.Data = av
	h.render(w, r, http.StatusOK, "console_accounts", v)
}

// consoleAccountCreate adds an account. The answer is the page itself (not
// a redirect), so a generated password is shown once and is stored
// nowhere but in its hash.
func (h *Handler) consoleAccountCreate(w http.ResponseWriter, r *http.Request, s *service.SignedIn) {
	if !h.checkCSRF(w, r) {
		h.forbidden(w, r, "console")
		return
	}
	f := r.PostForm
	form := accountForm{Username: strings.TrimSpace(f.Get("username")), Name: strings.TrimSpace(f.Get("name")),
		Role: f.Get("role"), CarrierID: f.Get("carrier_id")}
	if parcelguard.Role(form.Role) != parcelguard.RoleCourier {
		form.CarrierID = "" // the carrier list is ignored for anyone but a courier
	}
	password, generated := f.Get("password"), false
	if password == "" {
		password, generated = service.GeneratePassword(), true
	}
	a, err := h.svc.CreateAccount(r.Context(), s.Principal, service.NewAccountInput{Username: form.Username, Name: form.Name,
		Password: password, Role: parcelguard.Role(form.Role), CarrierID: form.CarrierID})
	av, lerr := h.loadAccounts(r, s)
	if lerr != nil {
		h.fail(w, r, lerr)
		return
	}
	v := h.userView(w, r, s, "console", "console.accounts")
	v.Data = av
	status := http.StatusOK
	var pe *parcelguard.Error
	switch {
	case err == nil:
		v.Notice = v.T("accounts.created_notice", a.Username)
		av.Created = a
		if generated {
			av.Password = password
		}
	case errors.Is(err, parcelguard.ErrForbidden):
		status, v.Problem = http.StatusForbidden, v.T("accounts.forbidden")
	case errors.As(err, &pe) && pe.Code == parcelguard.ECONFLICT:
		status, v.Problem = http.StatusConflict, v.T("accounts.taken", form.Username)
		av.Fields = map[string]string{"username": v.T("accounts.taken", form.Username)}
	case errors.As(err, &pe) && pe.Code == parcelguard.EINVALID:
		status, v.Problem = http.StatusUnprocessableEntity, v.T("accounts.invalid")
		av.Fields = map[string]string{}
		for _, fe := range pe.Fields {
			av.Fields[fe.Field] = v.T("accounts.bad_" + fe.Field)
		}
	default:
		h.fail(w, r, err)
		return
	}
	if err != nil {
		av.Form = form
	}
	h.render(w, r, status, "console_accounts", v)
}

// consoleAccountState disables or enables an account.
func (h *Handler) consoleAccountState(disable bool) func(http.ResponseWriter, *http.Request, *service.SignedIn) {
	return func(w http.ResponseWriter, r *http.Request, s *service.SignedIn) {
		if !h.checkCSRF(w, r) {
			h.forbidden(w, r, "console")
			return
		}
		a, err := h.svc.SetAccountDisabled(r.Context(), s.Principal, r.PathValue("id"), disable)
		switch {
		case errors.Is(err, parcelguard.ErrNotFound):
			h.notFound(w, r, s, "console")
		case errors.Is(err, service.ErrOwnAccount):
			seeOther(w, r, "/console/accounts?done=own")
		case errors.Is(err, parcelguard.ErrForbidden):
			seeOther(w, r, "/console/accounts?done=forbidden")
		case err != nil:
			h.fail(w, r, err)
		case disable:
			seeOther(w, r, "/console/accounts?done=disabled&user="+queryEscape(a.Username))
		default:
			seeOther(w, r, "/console/accounts?done=enabled&user="+queryEscape(a.Username))
		}
	}
}
