module github.com/bulwarkdev/bulwark/bench

go 1.26

replace github.com/bulwarkdev/bulwark => ../
