package accounts

// SetChecked sets the hook that runs between the last-admin check and its
// write.
func SetChecked(s *Service, f func()) { s.checked = f }
